import { randomUUID } from 'node:crypto';
import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import type { AuditEvent, Principal } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Observable, tap } from 'rxjs';
import type { AuthenticatedRequest } from '../access/access.guard';
import { Clock } from '../clock';
import { AdminChanges, describeAdminChange } from './admin-changes';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * One `admin.change` audit event per successful mutating admin route, and a
 * `credential.revoked` one when the route revokes a credential. Published
 * after the handler resolved (its transaction committed), without delaying
 * the answer; a failed publish is logged, the change stands.
 */
@Injectable()
export class AdminAuditInterceptor implements NestInterceptor {
  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!MUTATING.has(request.method)) return next.handle();
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    const entry = (AdminChanges as Record<string, { change: string; revokes?: string }>)[route];
    return next.handle().pipe(
      tap((response) => {
        if (!entry || !request.principal) return;
        const params = (request.params ?? {}) as Record<string, string | undefined>;
        const reason = describeAdminChange(entry.change, params, response);
        const server = /^[A-Z]+ \/api\/v1\/(virtual-)?servers(\/|$)/.test(route) ? (params.slug ?? reason.split(' ')[1] ?? null) : null;
        this.publish({ ...this.event(request.principal, 'admin.change', route, reason), server });
        if (entry.revokes) {
          const revoked = entry.revokes === 'user' ? null : (params.id ?? null);
          this.publish({ ...this.event(request.principal, 'credential.revoked', route, reason), credentialKind: entry.revokes, credentialId: revoked });
        }
      }),
    );
  }

  private event(principal: Principal, action: 'admin.change' | 'credential.revoked', route: string, reason: string): AuditEvent {
    const party = (who: { id: string; kind: Principal['kind']; email?: string }) => ({ id: who.id, kind: who.kind, ...(who.email !== undefined && { email: who.email }) });
    return {
      id: randomUUID(),
      ts: this.clock.now().toISOString(),
      traceId: null,
      principal: party(principal),
      actor: principal.actor ? party(principal.actor) : null,
      action,
      method: route.slice(0, 200),
      server: null,
      tool: null,
      credentialKind: null,
      credentialId: null,
      outcome: 'success',
      reason,
      latencyMs: null,
    };
  }

  private publish(event: AuditEvent): void {
    this.bus.publishAudit(event).catch((error: unknown) => this.log.warn({ err: error, action: event.action, method: event.method }, 'could not publish an admin audit event'));
  }
}
