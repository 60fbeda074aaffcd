import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { OriginNotAllowedError } from '../errors';
import { OriginPolicy } from './origin-policy';

/** Refuses `/mcp` requests under a foreign `Host` or from a foreign `Origin` (403) before any token is looked at. */
@Injectable()
export class OriginGuard implements CanActivate {
  private readonly policy: OriginPolicy;

  constructor(@Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions) {
    this.policy = new OriginPolicy({ publicUrl: options.publicUrl, allowedHosts: options.allowedHosts ?? [], allowedOrigins: options.allowedOrigins ?? [] });
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const origin = request.headers.origin;
    const verdict = this.policy.check(request.headers.host, typeof origin === 'string' ? origin : undefined);
    if (verdict !== 'ok') throw new OriginNotAllowedError(verdict);
    return true;
  }
}
