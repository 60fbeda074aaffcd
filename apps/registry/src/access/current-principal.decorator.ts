import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Principal } from '@portcullis/contracts';
import type { AuthenticatedRequest } from './access.guard';

/** The principal {@link AccessGuard} authenticated for this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  // Only reachable if a route skipped the guard, which the guard itself forbids.
  if (!principal) throw new TypeError('no authenticated principal on this request');
  return principal;
});
