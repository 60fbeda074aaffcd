import { Injectable } from '@nestjs/common';
import type { ListUsersRequest } from '@portcullis/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { UserRow } from './dto/user.view';

const USER_ROWS = `
  SELECT u.id, u.email, u.display_name, u.is_admin, u.is_auditor, u.active, u.created_at,
    (SELECT array_agg(t.name ORDER BY t.name) FROM "identity"."team_members" m JOIN "identity"."teams" t ON t.id = m.team_id WHERE m.user_id = u.id) AS teams,
    (SELECT json_agg(json_build_object('identityProvider', p.name, 'subject', i.subject) ORDER BY p.name, i.subject)
       FROM "identity"."user_identities" i JOIN "identity"."identity_providers" p ON p.id = i.provider_id WHERE i.user_id = u.id) AS identities
  FROM "identity"."users" u`;

/** Users as admins see them: with their teams and the providers they came from. */
@Injectable()
export class UserDirectoryRepository {
  constructor(private readonly dataSource: DataSource) {}

  async list(filter: ListUsersRequest): Promise<UserRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.email !== undefined) {
      params.push(`%${filter.email.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`u.email LIKE $${params.length}`);
    }
    if (filter.active !== undefined) {
      params.push(filter.active);
      where.push(`u.active = $${params.length}`);
    }
    if (filter.team !== undefined) {
      params.push(filter.team);
      where.push(`EXISTS (SELECT 1 FROM "identity"."team_members" m JOIN "identity"."teams" t ON t.id = m.team_id WHERE m.user_id = u.id AND t.name = $${params.length})`);
    }
    return this.dataSource.query(`${USER_ROWS} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY u.created_at, u.id LIMIT 1000`, params);
  }

  async findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<UserRow | undefined> {
    return ((await manager.query(`${USER_ROWS} WHERE u.id = $1`, [id])) as UserRow[])[0];
  }

  async findByEmail(email: string, manager: EntityManager = this.dataSource.manager): Promise<UserRow | undefined> {
    return ((await manager.query(`${USER_ROWS} WHERE u.email = $1`, [email.trim().toLowerCase()])) as UserRow[])[0];
  }

  /** The names of a user's teams (from the IdP and from admins alike). */
  async teamsOf(userId: string): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT t.name FROM "identity"."team_members" m JOIN "identity"."teams" t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY t.name`,
      [userId],
    )) as { name: string }[];
    return rows.map((row) => row.name);
  }

  /** Sets `active`; on deactivation revokes every live API key of the user in the same transaction and returns their ids. */
  async setAuditor(id: string, auditor: boolean): Promise<void> {
    await this.dataSource.query(`UPDATE "identity"."users" SET is_auditor = $2 WHERE id = $1`, [id, auditor]);
  }

  async setActive(id: string, active: boolean, now: Date): Promise<string[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`UPDATE "identity"."users" SET active = $2 WHERE id = $1`, [id, active]);
      if (active) return [];
      const [rows] = (await manager.query(`UPDATE "identity"."api_keys" SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`, [id, now])) as [{ id: string }[], number];
      return rows.map((row) => row.id);
    });
  }
}
