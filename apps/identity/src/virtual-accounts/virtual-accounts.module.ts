import { Module } from '@nestjs/common';
import { VirtualAccountHandler } from './virtual-account.handler';
import { VirtualAccountRepository } from './virtual-account.repository';
import { VirtualAccountService } from './virtual-account.service';

@Module({
  providers: [VirtualAccountRepository, VirtualAccountService, VirtualAccountHandler],
  exports: [VirtualAccountRepository],
})
export class VirtualAccountsModule {}
