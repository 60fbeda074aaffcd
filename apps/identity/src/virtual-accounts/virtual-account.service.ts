import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { CreateVirtualAccountRequest, EventSubjects, IssueVirtualAccountTokenRequest, VirtualAccountTokenView, VirtualAccountView } from '@portcullis/contracts';
import { generateToken } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { EntityManager } from 'typeorm';
import { Clock } from '../clock';
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors';
import { toVirtualAccountTokenView, toVirtualAccountView, virtualAccountPrincipalId } from './dto/virtual-account.view';
import { VirtualAccountRepository, VirtualAccountRow } from './virtual-account.repository';

/** Scheme of every virtual-account token: `pcv_<id>_<secret>`. */
export const VIRTUAL_ACCOUNT_TOKEN_SCHEME = 'pcv';

export interface IssuedToken {
  virtualAccountToken: VirtualAccountTokenView;
  token: string;
}

/** Service identities for applications: created by admins, granted access in the registry, holding rotatable tokens. */
@Injectable()
export class VirtualAccountService {
  constructor(
    private readonly accounts: VirtualAccountRepository,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(request: CreateVirtualAccountRequest): Promise<VirtualAccountView> {
    const row = await this.accounts.insert({ ...request, createdAt: this.clock.now() });
    if (!row) throw new ConflictError(`a virtual account named "${request.name}" exists`);
    this.log.info({ virtualAccount: row.name, canExchange: row.can_exchange }, 'virtual account created');
    return toVirtualAccountView(row);
  }

  async list(): Promise<VirtualAccountView[]> {
    return (await this.accounts.list()).map(toVirtualAccountView);
  }

  async get(name: string): Promise<VirtualAccountView> {
    return toVirtualAccountView(await this.account(name));
  }

  /** Taking away `canExchange` drops, at every edge, each exchanged token it acted through. */
  async update(name: string, changes: { description?: string | null; canExchange?: boolean }): Promise<VirtualAccountView> {
    const account = await this.account(name);
    await this.accounts.update(account.id, changes);
    if (changes.canExchange === false) await this.forget([], [account.id]);
    this.log.info({ virtualAccount: name, changed: Object.keys(changes) }, 'virtual account updated');
    return this.get(name);
  }

  /** Deletes the account and its tokens; every edge forgets it (and whatever it acted for) at once. */
  async delete(name: string): Promise<VirtualAccountView> {
    const account = await this.account(name);
    const tokenIds = await this.accounts.delete(account.id);
    await this.forget(tokenIds, [account.id]);
    this.log.info({ virtualAccount: name, tokens: tokenIds.length }, 'virtual account deleted');
    return toVirtualAccountView(account);
  }

  async issueToken(request: IssueVirtualAccountTokenRequest): Promise<IssuedToken> {
    const now = this.clock.now();
    const expiresAt = request.expiresAt === null ? null : new Date(request.expiresAt);
    if (expiresAt && expiresAt.getTime() <= now.getTime()) throw new InvalidRequestError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }]);
    const account = await this.account(request.virtualAccount);
    return this.newToken(account, request.name, expiresAt, now);
  }

  async listTokens(name: string): Promise<VirtualAccountTokenView[]> {
    return (await this.accounts.listTokens((await this.account(name)).id)).map(toVirtualAccountTokenView);
  }

  /**
   * A new token with the old one's name and expiry; the old one keeps working
   * for `graceSeconds` (0: refused at once), so an application can roll out
   * the new token without an outage.
   */
  async rotateToken(name: string, id: string, graceSeconds: number): Promise<IssuedToken & { previous: VirtualAccountTokenView }> {
    const now = this.clock.now();
    const account = await this.account(name);
    const { issued, previous } = await this.accounts.transaction(async (manager) => {
      const old = await this.liveToken(account.id, id, now, manager);
      const end = new Date(now.getTime() + graceSeconds * 1000);
      await this.accounts.endToken(old.id, end, graceSeconds === 0, manager);
      const expiresAt = old.expires_at && old.expires_at.getTime() > now.getTime() ? old.expires_at : null;
      return { issued: await this.newToken(account, old.name, expiresAt, now, manager), previous: (await this.accounts.findToken(account.id, old.id, manager))! };
    });
    // Edges cached the old token with its former expiry; they reload it and learn the grace period's end.
    await this.forget([previous.id], []);
    this.log.info({ virtualAccount: name, previous: previous.prefix, next: issued.virtualAccountToken.prefix, graceSeconds }, 'virtual account token rotated');
    return { ...issued, previous: toVirtualAccountTokenView(previous) };
  }

  async revokeToken(name: string, id: string): Promise<VirtualAccountTokenView> {
    const now = this.clock.now();
    const account = await this.account(name);
    const token = await this.accounts.transaction(async (manager) => {
      if (!(await this.accounts.findToken(account.id, id, manager))) throw new NotFoundError('no token with that id');
      await this.accounts.endToken(id, now, true, manager);
      return (await this.accounts.findToken(account.id, id, manager))!;
    });
    await this.forget([id], []);
    this.log.info({ virtualAccount: name, prefix: token.prefix }, 'virtual account token revoked');
    return toVirtualAccountTokenView(token);
  }

  private async newToken(account: VirtualAccountRow, name: string, expiresAt: Date | null, now: Date, manager?: EntityManager): Promise<IssuedToken> {
    const { token, prefix, hash } = generateToken(VIRTUAL_ACCOUNT_TOKEN_SCHEME);
    const row = await this.accounts.insertToken({ virtualAccountId: account.id, name, prefix, tokenHash: hash, createdAt: now, expiresAt }, manager);
    this.log.info({ virtualAccount: account.name, prefix }, 'virtual account token issued');
    return { virtualAccountToken: toVirtualAccountTokenView(row), token };
  }

  private async liveToken(accountId: string, id: string, now: Date, manager: EntityManager) {
    const token = await this.accounts.findToken(accountId, id, manager);
    if (!token) throw new NotFoundError('no token with that id');
    if (token.revoked_at || (token.expires_at && token.expires_at.getTime() <= now.getTime())) throw new ConflictError('that token has already ended');
    return token;
  }

  private async account(name: string): Promise<VirtualAccountRow> {
    const account = await this.accounts.findByName(name);
    if (!account) throw new NotFoundError(`no virtual account named "${name}"`);
    return account;
  }

  private async forget(credentialIds: string[], accountIds: string[]): Promise<void> {
    await this.bus.emit(EventSubjects.identityRevoked, { credentialIds, principalIds: accountIds.map(virtualAccountPrincipalId) });
  }
}
