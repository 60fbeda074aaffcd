import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { InvalidCredentialError } from '../errors';
import { normalizeEmail } from '../users/user.repository';

export interface ProvisionedUser {
  id: string;
  email: string | null;
  displayName: string | null;
  isAdmin: boolean;
  isAuditor: boolean;
  active: boolean;
  teams: string[];
}

export interface ExternalIdentity {
  providerId: string;
  subject: string;
  email: string | null;
  displayName: string | null;
  /** Null when the provider has no groups claim configured: memberships are then left alone. */
  groups: string[] | null;
}

interface UserRow {
  id: string;
  email: string | null;
  display_name: string | null;
  is_admin: boolean;
  is_auditor: boolean;
  active: boolean;
}

/**
 * Users from identity-provider tokens: created on the first valid token,
 * linked by (provider, subject), teams kept in step with the groups claim.
 */
@Injectable()
export class ExternalIdentityProvisioner {
  constructor(private readonly dataSource: DataSource) {}

  async provision(identity: ExternalIdentity, now: Date): Promise<ProvisionedUser> {
    return this.dataSource.transaction(async (manager) => {
      // One first login per (provider, subject) at a time, across replicas.
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`identity:${identity.providerId}:${identity.subject}`]);
      const user = (await this.linkedUser(manager, identity)) ?? (await this.firstLogin(manager, identity, now));
      const teams = identity.groups === null ? null : identity.groups;
      if (teams !== null) await this.syncTeams(manager, user.id, teams);
      const rows = (await manager.query(
        `SELECT t.name FROM "identity"."team_members" m JOIN "identity"."teams" t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY t.name`,
        [user.id],
      )) as { name: string }[];
      return { id: user.id, email: user.email, displayName: user.display_name, isAdmin: user.is_admin, isAuditor: user.is_auditor, active: user.active, teams: rows.map((r) => r.name) };
    });
  }

  private async linkedUser(manager: EntityManager, identity: ExternalIdentity): Promise<UserRow | undefined> {
    const rows = (await manager.query(
      `SELECT u.id, u.email, u.display_name, u.is_admin, u.is_auditor, u.active FROM "identity"."user_identities" i JOIN "identity"."users" u ON u.id = i.user_id
        WHERE i.provider_id = $1 AND i.subject = $2`,
      [identity.providerId, identity.subject],
    )) as UserRow[];
    return rows[0];
  }

  /**
   * A user with the token's e-mail is linked only if no other provider owns
   * them and they are not an admin: an IdP (or a misconfigured claim) must
   * never be a way to become the bootstrap admin by asserting its e-mail.
   */
  private async firstLogin(manager: EntityManager, identity: ExternalIdentity, now: Date): Promise<UserRow> {
    const email = identity.email === null ? null : normalizeEmail(identity.email);
    let user: UserRow | undefined;
    if (email !== null) {
      const existing = ((await manager.query(`SELECT id, email, display_name, is_admin, is_auditor, active FROM "identity"."users" WHERE email = $1`, [email])) as UserRow[])[0];
      if (existing) {
        const [{ others }] = (await manager.query(`SELECT count(*)::int AS others FROM "identity"."user_identities" WHERE user_id = $1 AND provider_id <> $2`, [
          existing.id,
          identity.providerId,
        ])) as { others: number }[];
        if (existing.is_admin || others > 0) throw new InvalidCredentialError('email_conflict');
        user = existing;
      }
    }
    user ??= (
      (await manager.query(
        `INSERT INTO "identity"."users" (email, display_name, is_admin, active, created_at) VALUES ($1, $2, false, true, $3)
          RETURNING id, email, display_name, is_admin, is_auditor, active`,
        [email, identity.displayName, now],
      )) as UserRow[]
    )[0];
    await manager.query(`INSERT INTO "identity"."user_identities" (provider_id, subject, user_id, created_at) VALUES ($1, $2, $3, $4)`, [
      identity.providerId,
      identity.subject,
      user.id,
      now,
    ]);
    return user;
  }

  /** Memberships from the IdP follow the groups claim; memberships an admin made stay. */
  private async syncTeams(manager: EntityManager, userId: string, groups: string[]): Promise<void> {
    const current = (
      (await manager.query(
        `SELECT t.name FROM "identity"."team_members" m JOIN "identity"."teams" t ON t.id = m.team_id WHERE m.user_id = $1 AND m.source = 'idp'`,
        [userId],
      )) as { name: string }[]
    ).map((r) => r.name);
    const wanted = new Set(groups);
    if (current.length === wanted.size && current.every((name) => wanted.has(name))) return;
    await manager.query(`DELETE FROM "identity"."team_members" m USING "identity"."teams" t WHERE m.team_id = t.id AND m.user_id = $1 AND m.source = 'idp' AND NOT (t.name = ANY($2))`, [
      userId,
      groups,
    ]);
    if (groups.length === 0) return;
    await manager.query(`INSERT INTO "identity"."teams" (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`, [groups]);
    await manager.query(
      `INSERT INTO "identity"."team_members" (team_id, user_id, source) SELECT id, $1, 'idp' FROM "identity"."teams" WHERE name = ANY($2) ON CONFLICT DO NOTHING`,
      [userId, groups],
    );
  }
}
