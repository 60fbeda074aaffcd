import { Inject, Injectable } from '@nestjs/common';
import { Principal, RequestSubjects, UserView } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { ConflictError, NotFoundError } from '../errors';
import { ListUsersQuery, UpdateUserBody, UuidSchema } from './dto/identity-admin.dto';
import { IdentityAdminClient } from './identity-admin.client';

@Injectable()
export class UserService {
  constructor(
    private readonly identity: IdentityAdminClient,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  list(query: ListUsersQuery): Promise<{ items: UserView[] }> {
    return this.identity.request(RequestSubjects.identityAdminUserList, query);
  }

  async get(id: string): Promise<UserView> {
    return (await this.identity.request(RequestSubjects.identityAdminUserGet, { id: userId(id) })).user;
  }

  async update(id: string, body: UpdateUserBody, actor: Principal): Promise<UserView> {
    const { user } = await this.identity.request(RequestSubjects.identityAdminUserUpdate, { id: userId(id), ...body });
    this.log.info({ userId: id, auditor: body.auditor, actor: actor.id }, 'user roles changed');
    return user;
  }

  /** Revokes every key of the user and drops them from every edge's cache; an admin cannot lock themselves out this way. */
  async setActive(id: string, active: boolean, actor: Principal): Promise<{ user: UserView; revokedApiKeys: number }> {
    if (!active && actor.id === `user:${id}`) throw new ConflictError('an admin cannot deactivate themselves');
    const result = await this.identity.request(RequestSubjects.identityAdminUserSetActive, { id: userId(id), active });
    this.log.info({ userId: id, active, revokedApiKeys: result.revokedApiKeys, actor: actor.id }, active ? 'user reactivated' : 'user deactivated');
    return result;
  }
}

function userId(id: string): string {
  if (!UuidSchema.safeParse(id).success) throw new NotFoundError('no user with that id');
  return id;
}
