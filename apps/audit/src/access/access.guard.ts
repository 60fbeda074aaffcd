import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Principal } from '@portcullis/contracts';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, MissingCredentialsError } from '../errors';
import { AuditPermission, isGranted } from './audit-permissions';
import { AuthenticationService } from './authentication.service';
import { REQUIRED_PERMISSION } from './require-permission.decorator';

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/**
 * Bearer token → principal → the permission the route declares. Deny by
 * default: a route that declares no permission is refused to everyone.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: AuthenticationService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const permission = this.reflector.getAllAndOverride<AuditPermission | undefined>(REQUIRED_PERMISSION, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (permission === undefined) throw new ForbiddenError('this route declares no permission');
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers.authorization);
    if (token === null) throw new MissingCredentialsError();
    const principal = await this.authentication.authenticate(token);
    if (!isGranted(principal, permission)) throw new ForbiddenError();
    request.principal = principal;
    return true;
  }
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header ?? '');
  return match ? match[1] : null;
}
