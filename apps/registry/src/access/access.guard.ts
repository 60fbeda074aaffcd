import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessRole, Principal, roleRank } from '@portcullis/contracts';
import { ObservabilityController } from '@portcullis/telemetry';
import type { FastifyRequest } from 'fastify';
import { AuthorizationService } from '../authorization/authorization.service';
import { ForbiddenError, UnauthorizedError } from '../errors';
import { isGranted, isResourcePermission, PUBLIC, RegistryPermission, ResourcePermissions } from './registry-permissions';
import { AuthenticationService } from './authentication.service';
import { REQUIRED_PERMISSION } from './require-permission.decorator';

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/**
 * Bound to every route of the app: bearer token → principal → the permission
 * the route declares (global, or a role on the server or group the route
 * names). Deny by default: a route that declares no permission is
 * refused to everyone. Only health, readiness, metrics and the API's own documentation are public.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: AuthenticationService,
    private readonly authorization: AuthorizationService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getClass() === ObservabilityController) return true;
    const permission = this.reflector.getAllAndOverride<RegistryPermission | undefined>(REQUIRED_PERMISSION, [context.getHandler(), context.getClass()]);
    if (permission === undefined) throw new ForbiddenError('this route declares no permission');
    if (permission === PUBLIC) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers.authorization);
    if (token === null) throw new UnauthorizedError(false);
    const principal = await this.authentication.authenticate(token);
    if (isResourcePermission(permission)) {
      const { resource, param, minimumRole } = ResourcePermissions[permission];
      const key = (request.params as Record<string, string | undefined>)[param] ?? '';
      const role: AccessRole | null = await this.authorization.roleOn(principal, resource, key);
      // Same answer whether the resource is missing or merely not theirs, so non-admins cannot probe names.
      if (roleRank(role) < roleRank(minimumRole)) throw new ForbiddenError(`this principal may not ${minimumRole === 'manager' ? 'manage' : 'see'} this ${resource}`);
    } else if (!isGranted(principal, permission)) {
      throw new ForbiddenError();
    }
    request.principal = principal;
    return true;
  }
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer +([^\s]+) *$/i.exec(header ?? '');
  return match ? match[1] : null;
}
