import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, RequestOf, RequestSubjects, ResolvedCredential } from '@portcullis/contracts';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import { CredentialNotFoundError, CredentialUnreadableError, InvalidHeaderSetError } from '../errors';
import { credentialAssociatedData } from './credential-binding';
import { CredentialEntity } from './credential.entity';
import { CredentialsRepository } from './credentials.repository';

type PutServerHeaders = RequestOf<typeof RequestSubjects.vaultAdminServerHeadersPut>;
type ResolveCredential = RequestOf<typeof RequestSubjects.vaultCredentialResolve>;

const NO_CREDENTIAL: ResolvedCredential = { status: 'ready', credentialKind: 'none', credentialId: null, headers: {}, expiresAt: null };

/**
 * Stores upstream secrets sealed under the keyring and opens them for the
 * edge. Secret values exist in clear only inside these methods: they are
 * never logged, never put in an error, never returned except by `resolve`.
 */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly repository: CredentialsRepository,
    private readonly cipher: EnvelopeCipher,
    private readonly keyring: Keyring,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Replaces the server's shared header set in one transaction: names kept
   * keep their row (and id), new names get rows, missing names are deleted.
   * Returns the header names now stored.
   */
  async putServerHeaders({ serverId, headers }: PutServerHeaders): Promise<string[]> {
    const names = Object.keys(headers);
    assertDistinctIgnoringCase(names);
    await this.repository.inServerTransaction(serverId, async (tx) => {
      const existing = new Map((await tx.findShared('header')).map((row) => [row.name.toLowerCase(), row]));
      const wanted = new Set(names.map((name) => name.toLowerCase()));
      await tx.deleteByIds([...existing.values()].filter((row) => !wanted.has(row.name.toLowerCase())).map((row) => row.id));
      const now = this.clock.now();
      await tx.save(
        names.map((name) => {
          const current = existing.get(name.toLowerCase());
          return this.seal(
            { id: current?.id ?? randomUUID(), serverId, principalId: null, kind: 'header', name, createdAt: current?.createdAt ?? now, updatedAt: now },
            headers[name],
          );
        }),
      );
    });
    this.log.info({ serverId, headerNames: names }, 'server header set replaced');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId, principalId: null });
    return names;
  }

  /** Deletes every credential of a server (shared and per principal); returns how many. */
  async deleteServerCredentials(serverId: string): Promise<number> {
    const deleted = await this.repository.inServerTransaction(serverId, (tx) => tx.deleteAll());
    this.log.info({ serverId, deleted }, 'server credentials deleted');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId, principalId: null });
    return deleted;
  }

  /** The headers the edge injects for this principal on this server. */
  async resolve({ principal, server }: ResolveCredential): Promise<ResolvedCredential> {
    switch (server.authType) {
      case 'none':
        return NO_CREDENTIAL;
      case 'header':
        return this.resolveHeaders(server, principal.id);
      default:
        return assertNever(server.authType);
    }
  }

  private async resolveHeaders(server: ResolveCredential['server'], principalId: string): Promise<ResolvedCredential> {
    const rows = await this.repository.findApplicable(server.id, principalId, 'header');
    // A principal's own value for a header wins over the shared one.
    const effective = new Map<string, CredentialEntity>();
    for (const row of rows) {
      const key = row.name.toLowerCase();
      const seen = effective.get(key);
      if (!seen || (seen.principalId === null && row.principalId !== null)) effective.set(key, row);
    }
    const applied = [...effective.values()];
    if (applied.length === 0) throw new CredentialNotFoundError(server.slug);
    const headers: Record<string, string> = {};
    for (const row of applied) headers[row.name] = this.open(row, server.slug);
    return { status: 'ready', credentialKind: 'header', credentialId: applied[0].id, headers, expiresAt: null };
  }

  private seal(row: Omit<CredentialEntity, 'sealedValue' | 'keyId'>, value: string): CredentialEntity {
    const sealedValue = this.cipher.encrypt(value, credentialAssociatedData(row));
    return Object.assign(new CredentialEntity(), row, { sealedValue, keyId: this.keyring.activeKid });
  }

  private open(row: CredentialEntity, serverSlug: string): string {
    try {
      return this.cipher.decrypt(row.sealedValue, credentialAssociatedData(row));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.log.error({ credentialId: row.id, serverId: row.serverId, keyId: row.keyId, code }, 'stored credential does not decrypt');
      throw new CredentialUnreadableError(serverSlug, row.id, { cause: error });
    }
  }
}

function assertDistinctIgnoringCase(names: string[]): void {
  const seen = new Map<string, string>();
  const issues: { path: string; message: string }[] = [];
  for (const name of names) {
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) issues.push({ path: `headers.${name}`, message: `repeats header ${first} (names are case-insensitive)` });
    else seen.set(name.toLowerCase(), name);
  }
  if (issues.length > 0) throw new InvalidHeaderSetError(`invalid header set: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
}

function assertNever(value: never): never {
  throw new TypeError(`unhandled auth type ${String(value)}`);
}
