import { Inject, Injectable } from '@nestjs/common';
import { Principal, RequestSubjects, VirtualAccountTokenView, VirtualAccountView } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { NotFoundError } from '../errors';
import { CreateVirtualAccountBody, IssueVirtualAccountTokenBody, UpdateVirtualAccountBody, UuidSchema } from './dto/identity-admin.dto';
import { IdentityAdminClient } from './identity-admin.client';

@Injectable()
export class VirtualAccountService {
  constructor(
    private readonly identity: IdentityAdminClient,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(body: CreateVirtualAccountBody, actor: Principal): Promise<VirtualAccountView> {
    const { virtualAccount } = await this.identity.request(RequestSubjects.identityAdminVirtualAccountCreate, body);
    this.log.info({ virtualAccount: body.name, canExchange: body.canExchange, actor: actor.id }, 'virtual account created');
    return virtualAccount;
  }

  list(): Promise<{ items: VirtualAccountView[] }> {
    return this.identity.request(RequestSubjects.identityAdminVirtualAccountList, {});
  }

  async get(name: string): Promise<VirtualAccountView> {
    return (await this.identity.request(RequestSubjects.identityAdminVirtualAccountGet, { name: accountName(name) })).virtualAccount;
  }

  async update(name: string, changes: UpdateVirtualAccountBody, actor: Principal): Promise<VirtualAccountView> {
    const { virtualAccount } = await this.identity.request(RequestSubjects.identityAdminVirtualAccountUpdate, { name: accountName(name), changes });
    this.log.info({ virtualAccount: name, changed: Object.keys(changes), actor: actor.id }, 'virtual account updated');
    return virtualAccount;
  }

  async delete(name: string, actor: Principal): Promise<VirtualAccountView> {
    const { virtualAccount } = await this.identity.request(RequestSubjects.identityAdminVirtualAccountDelete, { name: accountName(name) });
    this.log.info({ virtualAccount: name, actor: actor.id }, 'virtual account deleted');
    return virtualAccount;
  }

  listTokens(name: string): Promise<{ items: VirtualAccountTokenView[] }> {
    return this.identity.request(RequestSubjects.identityAdminVirtualAccountTokenList, { virtualAccount: accountName(name) });
  }

  /** The token in the answer is shown this once; identity keeps only its hash. */
  async issueToken(name: string, body: IssueVirtualAccountTokenBody, actor: Principal): Promise<{ virtualAccountToken: VirtualAccountTokenView; token: string }> {
    const issued = await this.identity.request(RequestSubjects.identityAdminVirtualAccountTokenIssue, { virtualAccount: accountName(name), ...body });
    this.log.info({ virtualAccount: name, prefix: issued.virtualAccountToken.prefix, actor: actor.id }, 'virtual account token issued');
    return issued;
  }

  async rotateToken(
    name: string,
    id: string,
    graceSeconds: number,
    actor: Principal,
  ): Promise<{ virtualAccountToken: VirtualAccountTokenView; token: string; previous: VirtualAccountTokenView }> {
    const rotated = await this.identity.request(RequestSubjects.identityAdminVirtualAccountTokenRotate, { virtualAccount: accountName(name), id: tokenId(id), graceSeconds });
    this.log.info({ virtualAccount: name, previous: rotated.previous.prefix, next: rotated.virtualAccountToken.prefix, graceSeconds, actor: actor.id }, 'virtual account token rotated');
    return rotated;
  }

  async revokeToken(name: string, id: string, actor: Principal): Promise<VirtualAccountTokenView> {
    const { virtualAccountToken } = await this.identity.request(RequestSubjects.identityAdminVirtualAccountTokenRevoke, { virtualAccount: accountName(name), id: tokenId(id) });
    this.log.info({ virtualAccount: name, prefix: virtualAccountToken.prefix, actor: actor.id }, 'virtual account token revoked');
    return virtualAccountToken;
  }
}

function accountName(name: string): string {
  if (name.length === 0 || name.length > 128) throw new NotFoundError('no such virtual account');
  return name;
}

function tokenId(id: string): string {
  if (!UuidSchema.safeParse(id).success) throw new NotFoundError('no token with that id');
  return id;
}
