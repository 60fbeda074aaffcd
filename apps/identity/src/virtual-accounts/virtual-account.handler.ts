import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues, VirtualAccountView } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { VirtualAccountService } from './virtual-account.service';

/** Admin operations on virtual accounts and their tokens. The registry has already checked that the caller is an admin. */
@Injectable()
export class VirtualAccountHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly accounts: VirtualAccountService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = ServiceQueues.identity;
    const account = (work: Promise<VirtualAccountView>) => work.then((view) => ({ virtualAccount: view }), rethrow);
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountCreate, queue, (request) => account(this.accounts.create(request))),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountList, queue, async () => ({ items: await this.accounts.list() })),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountGet, queue, ({ name }) => account(this.accounts.get(name))),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountUpdate, queue, ({ name, changes }) => account(this.accounts.update(name, changes))),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountDelete, queue, ({ name }) => account(this.accounts.delete(name))),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountTokenIssue, queue, (request) => this.accounts.issueToken(request).catch(rethrow)),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountTokenList, queue, async ({ virtualAccount }) => ({
        items: await this.accounts.listTokens(virtualAccount).catch(rethrow),
      })),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountTokenRotate, queue, ({ virtualAccount, id, graceSeconds }) =>
        this.accounts.rotateToken(virtualAccount, id, graceSeconds).catch(rethrow),
      ),
      this.bus.reply(RequestSubjects.identityAdminVirtualAccountTokenRevoke, queue, async ({ virtualAccount, id }) => ({
        virtualAccountToken: await this.accounts.revokeToken(virtualAccount, id).catch(rethrow),
      })),
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
