import { Global, Module } from '@nestjs/common';
import { AccessRulesRepository } from './access-rules.repository';
import { AuthorizationHandler } from './authorization.handler';
import { AuthorizationService } from './authorization.service';

/** Access decisions for the edge (`registry.authorize`) and for the admin API's guard. */
@Global()
@Module({
  providers: [AccessRulesRepository, AuthorizationService, AuthorizationHandler],
  exports: [AuthorizationService],
})
export class AuthorizationModule {}
