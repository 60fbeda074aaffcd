import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { UserService } from './user.service';

/** Admin operations on users. The registry has already checked that the caller is an admin. */
@Injectable()
export class UserHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly users: UserService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = ServiceQueues.identity;
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityAdminUserList, queue, async (filter) => ({ items: await this.users.list(filter) })),
      this.bus.reply(RequestSubjects.identityAdminUserGet, queue, async ({ id }) => ({ user: await this.users.get(id).catch(rethrow) })),
      this.bus.reply(RequestSubjects.identityAdminUserUpdate, queue, async ({ id, ...changes }) => ({ user: await this.users.update(id, changes).catch(rethrow) })),
      this.bus.reply(RequestSubjects.identityAdminUserSetActive, queue, ({ id, active }) => this.users.setActive(id, active).catch(rethrow)),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
    this.subscriptions = [];
  }
}

function rethrow(error: unknown): never {
  throw toBusError(error);
}
