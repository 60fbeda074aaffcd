import { Module } from '@nestjs/common';
import { AccessDecisionResolver } from './access-decision-resolver.service';
import { CacheInvalidationHandler } from './cache-invalidation.handler';
import { CredentialResolver } from './credential-resolver.service';
import { PrincipalResolver } from './principal-resolver.service';
import { RequiredScopes } from './scope-check';
import { TargetResolver } from './target-resolver.service';
import { VirtualServerResolver } from './virtual-server-resolver.service';

/** Who is calling, which upstream they name, and which credential to inject: the three cached bus look-ups of the hot path. */
@Module({
  providers: [PrincipalResolver, TargetResolver, CredentialResolver, AccessDecisionResolver, VirtualServerResolver, CacheInvalidationHandler, RequiredScopes],
  exports: [PrincipalResolver, TargetResolver, CredentialResolver, AccessDecisionResolver, VirtualServerResolver, RequiredScopes],
})
export class AccessModule {}
