import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, ReadyCredential, RequestOf, RequestSubjects, ResolvedCredential } from '@portcullis/contracts';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import {
  CredentialNotFoundError,
  CredentialUnreadableError,
  InvalidHeaderSetError,
  InvalidUserValuesError,
  UserTemplateNotFoundError,
} from '../errors';
import { OAuthCredentialService } from '../oauth/connections/oauth-credential.service';
import { credentialAssociatedData } from './credential-binding';
import { CredentialEntity, StoredCredentialKind } from './credential.entity';
import { CredentialsRepository, ServerCredentialsTransaction } from './credentials.repository';
import { hasMalformedPlaceholder, headerSetVariables, renderTemplate } from './header-template';

type PutServerHeaders = RequestOf<typeof RequestSubjects.vaultAdminServerHeadersPut>;
type PutUserCredential = RequestOf<typeof RequestSubjects.vaultUserCredentialPut>;
type DeleteUserCredential = RequestOf<typeof RequestSubjects.vaultUserCredentialDelete>;
type ResolveCredential = RequestOf<typeof RequestSubjects.vaultCredentialResolve>;
type VaultServer = ResolveCredential['server'];
type FieldIssue = { path: string; message: string };

const NO_CREDENTIAL: ReadyCredential = { status: 'ready', credentialKind: 'none', credentialId: null, headers: {}, expiresAt: null };

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
    private readonly oauth: OAuthCredentialService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Replaces the server's header set in one transaction: `global` values or
   * `per_user` templates (the other mode's rows go). Names kept keep their row
   * (and id), new names get rows, missing names are deleted. Users' values of
   * variables the new set no longer has are deleted; the others are kept.
   * Returns the header names now stored.
   */
  async putServerHeaders({ serverId, headers, mode }: PutServerHeaders): Promise<string[]> {
    const names = Object.keys(headers);
    assertValidHeaderSet(headers, mode);
    const kind: StoredCredentialKind = mode === 'per_user' ? 'header_template' : 'header';
    const variables = mode === 'per_user' ? headerSetVariables(names.map((name) => headers[name])) : [];
    const prunedUserValues = await this.repository.inServerTransaction(serverId, async (tx) => {
      const otherMode = await tx.findShared(kind === 'header' ? 'header_template' : 'header');
      await tx.deleteByIds(otherMode.map((row) => row.id));
      await this.replaceRows(tx, await tx.findShared(kind), headers, { serverId, principalId: null, kind });
      return tx.deleteUserValuesExcept(variables);
    });
    this.log.info({ serverId, mode, headerNames: names, variables, prunedUserValues }, 'server header set replaced');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId, principalId: null });
    return names;
  }

  /**
   * Sets one principal's values for a `per_user` server: exactly the
   * template's variables, each sealed in its own row bound to (principal,
   * server, variable). Returns the variable names stored.
   */
  async putUserValues({ principal, server, values }: PutUserCredential): Promise<string[]> {
    const variables = await this.repository.inServerTransaction(server.id, async (tx) => {
      const templates = server.authType === 'header' ? await tx.findShared('header_template') : [];
      if (templates.length === 0) throw new UserTemplateNotFoundError(server.slug);
      const opened = templates.map((row) => ({ name: row.name, template: this.open(row, server.slug) }));
      const wanted = headerSetVariables(opened.map(({ template }) => template));
      assertValuesFitTemplate(opened, wanted, values);
      await this.replaceRows(tx, await tx.findUserValues(principal.id), values, { serverId: server.id, principalId: principal.id, kind: 'header_value' });
      return wanted;
    });
    this.log.info({ serverId: server.id, principalId: principal.id, variables }, 'user header values set');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId: server.id, principalId: principal.id });
    return variables;
  }

  /** Deletes one principal's values on a server; returns how many. */
  async deleteUserValues({ principalId, serverId }: DeleteUserCredential): Promise<number> {
    const deleted = await this.repository.inServerTransaction(serverId, (tx) => tx.deleteUserValues(principalId));
    this.log.info({ serverId, principalId, deleted }, 'user header values deleted');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId, principalId });
    return deleted;
  }

  /** Deletes every credential of a server (shared and per principal, headers and OAuth); returns how many. */
  async deleteServerCredentials(serverId: string): Promise<number> {
    const deleted = (await this.repository.inServerTransaction(serverId, (tx) => tx.deleteAll())) + (await this.oauth.forgetServer(serverId));
    this.log.info({ serverId, deleted }, 'server credentials deleted');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId, principalId: null });
    return deleted;
  }

  /** What the edge injects for this principal on this server, or what the user must do first. */
  async resolve({ principal, server, subjectToken, rejected }: ResolveCredential): Promise<ResolvedCredential> {
    switch (server.authType) {
      case 'none':
        return NO_CREDENTIAL;
      case 'header':
        return this.resolveHeaders(server, principal.id);
      // oauth2 and passthrough: delegated to the OAuth service (token_exchange also passes `subjectToken`).
      case 'oauth2':
        return this.oauth.resolve(principal, server, { subjectToken, rejected });
      case 'passthrough':
        return this.oauth.passthrough();
      default:
        return assertNever(server.authType);
    }
  }

  /** The gateway's own credential for a server (admin work such as listing tools): none, or a global header set; never a user's. */
  async resolveShared(server: VaultServer): Promise<ReadyCredential> {
    if (server.authType === 'none') return NO_CREDENTIAL;
    if (server.authType !== 'header') throw new CredentialNotFoundError(server.slug);
    const shared = await this.repository.findShared(server.id);
    const headerRows = shared.filter((row) => row.kind === 'header');
    // A per-user set (templates) has nothing the gateway itself may use.
    if (headerRows.length === 0 || shared.some((row) => row.kind === 'header_template')) throw new CredentialNotFoundError(server.slug);
    return this.readyHeaders(server, headerRows);
  }

  private async resolveHeaders(server: VaultServer, principalId: string): Promise<ResolvedCredential> {
    const rows = await this.repository.findForPrincipal(server.id, principalId);
    const templates = rows.filter((row) => row.kind === 'header_template');
    if (templates.length > 0) return this.renderForPrincipal(server, templates, rows.filter((row) => row.kind === 'header_value'));
    const shared = rows.filter((row) => row.kind === 'header');
    if (shared.length === 0) throw new CredentialNotFoundError(server.slug);
    return this.readyHeaders(server, shared);
  }

  private readyHeaders(server: VaultServer, rows: CredentialEntity[]): ReadyCredential {
    const headers: Record<string, string> = {};
    for (const row of rows) headers[row.name] = this.open(row, server.slug);
    return { status: 'ready', credentialKind: 'header', credentialId: rows[0].id, headers, expiresAt: null };
  }

  /** `valueRows` are the principal's own (the repository never hands over another's). */
  private renderForPrincipal(server: VaultServer, templates: CredentialEntity[], valueRows: CredentialEntity[]): ResolvedCredential {
    const opened = templates.map((row) => ({ name: row.name, template: this.open(row, server.slug) }));
    const variables = headerSetVariables(opened.map(({ template }) => template));
    const rowOf = new Map(valueRows.map((row) => [row.name, row]));
    if (variables.some((name) => !rowOf.has(name))) return { status: 'value_required', credentialKind: 'header', variables };
    const used = variables.map((name) => rowOf.get(name)!);
    const values = new Map(used.map((row) => [row.name, this.open(row, server.slug)]));
    const headers: Record<string, string> = {};
    for (const { name, template } of opened) {
      const rendered = renderTemplate(template, values);
      if (rendered === null) {
        throw new InvalidUserValuesError(`the values stored for server ${server.slug} no longer make a valid ${name} header; set them again`, [
          { path: 'values', message: `make an invalid ${name} header` },
        ]);
      }
      headers[name] = rendered;
    }
    const credentialId = [...used].sort((a, b) => a.name.localeCompare(b.name))[0].id;
    return { status: 'ready', credentialKind: 'header', credentialId, headers, expiresAt: null };
  }

  /** Upserts one row per entry of `values` (matching `existing` by name, case-insensitively) and deletes the rest of `existing`. */
  private async replaceRows(
    tx: ServerCredentialsTransaction,
    existing: CredentialEntity[],
    values: Record<string, string>,
    scope: Pick<CredentialEntity, 'serverId' | 'principalId' | 'kind'>,
  ): Promise<void> {
    const byName = new Map(existing.map((row) => [row.name.toLowerCase(), row]));
    const wanted = new Set(Object.keys(values).map((name) => name.toLowerCase()));
    await tx.deleteByIds(existing.filter((row) => !wanted.has(row.name.toLowerCase())).map((row) => row.id));
    const now = this.clock.now();
    await tx.save(
      Object.entries(values).map(([name, value]) => {
        const current = byName.get(name.toLowerCase());
        return this.seal({ ...scope, id: current?.id ?? randomUUID(), name, createdAt: current?.createdAt ?? now, updatedAt: now }, value);
      }),
    );
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

/** Names distinct ignoring case; in `per_user` mode, well-formed placeholders and at least one variable. */
function assertValidHeaderSet(headers: Record<string, string>, mode: PutServerHeaders['mode']): void {
  const seen = new Map<string, string>();
  const issues: FieldIssue[] = [];
  for (const name of Object.keys(headers)) {
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) issues.push({ path: `headers.${name}`, message: `repeats header ${first} (names are case-insensitive)` });
    else seen.set(name.toLowerCase(), name);
    if (mode === 'per_user' && hasMalformedPlaceholder(headers[name])) {
      issues.push({ path: `headers.${name}`, message: 'has a malformed placeholder: write {{NAME}} with upper-case letters, digits and underscores' });
    }
  }
  if (mode === 'per_user' && headerSetVariables(Object.values(headers)).length === 0) {
    issues.push({ path: 'headers', message: 'a per_user header set needs at least one {{VARIABLE}} for users to fill in' });
  }
  if (issues.length > 0) throw new InvalidHeaderSetError(`invalid header set: ${describe(issues)}`, issues);
}

/** Every variable given, no other; every rendered header valid. Never quotes a value. */
function assertValuesFitTemplate(templates: { name: string; template: string }[], variables: string[], values: Record<string, string>): void {
  const issues: FieldIssue[] = [];
  for (const name of Object.keys(values)) {
    if (!variables.includes(name)) issues.push({ path: `values.${name}`, message: "is not a variable of this server's header template" });
  }
  for (const name of variables) if (!(name in values)) issues.push({ path: `values.${name}`, message: 'is required' });
  if (issues.length === 0) {
    const given = new Map(Object.entries(values));
    for (const { name, template } of templates) {
      if (renderTemplate(template, given) === null) issues.push({ path: 'values', message: `make the ${name} header too long` });
    }
  }
  if (issues.length > 0) throw new InvalidUserValuesError(`invalid values: ${describe(issues)}`, issues);
}

const describe = (issues: FieldIssue[]): string => issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');

function assertNever(value: never): never {
  throw new TypeError(`unhandled auth type ${String(value)}`);
}
