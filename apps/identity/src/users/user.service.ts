import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, ListUsersRequest, userPrincipalId, UserView } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import { NotFoundError } from '../errors';
import { toUserView } from './dto/user.view';
import { UserDirectoryRepository } from './user-directory.repository';

/** Admin operations on users. Deactivation is the one switch that stops a person everywhere at once. */
@Injectable()
export class UserService {
  constructor(
    private readonly users: UserDirectoryRepository,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async list(filter: ListUsersRequest): Promise<UserView[]> {
    return (await this.users.list(filter)).map(toUserView);
  }

  async get(id: string): Promise<UserView> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('no user with that id');
    return toUserView(user);
  }

  /**
   * Deactivating revokes every API key of the user and tells every edge to
   * drop whatever it cached for them (their keys, IdP tokens and exchanged
   * tokens alike: all carry the principal id). Identity refuses their IdP
   * tokens and exchanged tokens from now on (`inactive_user`). Reactivating
   * does not bring revoked keys back.
   */
  /** Grants or withdraws the auditor role; edges drop what they cached for the user so the next request carries it. */
  async update(id: string, changes: { auditor?: boolean }): Promise<UserView> {
    if (!(await this.users.findById(id))) throw new NotFoundError('no user with that id');
    if (changes.auditor !== undefined) {
      await this.users.setAuditor(id, changes.auditor);
      await this.bus.emit(EventSubjects.identityRevoked, { credentialIds: [], principalIds: [userPrincipalId(id)] });
      this.log.info({ userId: id, auditor: changes.auditor }, 'user auditor role changed');
    }
    return toUserView((await this.users.findById(id))!);
  }

  async setActive(id: string, active: boolean): Promise<{ user: UserView; revokedApiKeys: number }> {
    if (!(await this.users.findById(id))) throw new NotFoundError('no user with that id');
    const revoked = await this.users.setActive(id, active, this.clock.now());
    if (!active) await this.bus.emit(EventSubjects.identityRevoked, { credentialIds: revoked, principalIds: [userPrincipalId(id)] });
    this.log.info({ userId: id, active, revokedApiKeys: revoked.length }, active ? 'user reactivated' : 'user deactivated');
    return { user: toUserView((await this.users.findById(id))!), revokedApiKeys: revoked.length };
  }
}
