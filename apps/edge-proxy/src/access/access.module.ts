import { Module } from '@nestjs/common';
import { CacheInvalidationHandler } from './cache-invalidation.handler';
import { CredentialResolver } from './credential-resolver.service';
import { PrincipalResolver } from './principal-resolver.service';
import { TargetResolver } from './target-resolver.service';

/** Who is calling, which upstream they name, and which credential to inject: the three cached bus look-ups of the hot path. */
@Module({
  providers: [PrincipalResolver, TargetResolver, CredentialResolver, CacheInvalidationHandler],
  exports: [PrincipalResolver, TargetResolver, CredentialResolver],
})
export class AccessModule {}
