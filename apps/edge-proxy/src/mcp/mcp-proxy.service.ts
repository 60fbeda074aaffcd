import { Inject, Injectable } from '@nestjs/common';
import { isSpanContextValid, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { AccessDecision, Principal, ReadyCredential, ServerTarget } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import type { McpHttpReply, McpHttpRequest } from './mcp-http';
import { AccessDecisionResolver } from '../access/access-decision-resolver.service';
import { bearerToken } from '../access/bearer-token';
import { CredentialResolver } from '../access/credential-resolver.service';
import { PrincipalResolver } from '../access/principal-resolver.service';
import { insufficientScope, RequiredScopes, ScopedTarget } from '../access/scope-check';
import { TargetResolver } from '../access/target-resolver.service';
import { VirtualServerResolver } from '../access/virtual-server-resolver.service';
import { Clock } from '../clock';
import { AccessDeniedError, ConsentRequiredError, EdgeError, LegacyUpstreamStatusError, UnknownSessionError, UnsupportedTransportError, UpstreamProtocolError, UpstreamRejectedCredentialError } from '../errors';
import { isUpstreamSessionId, McpSession } from '../sessions/mcp-session';
import { SealedSessions } from '../sessions/sealed-sessions.service';
import { clientResponseHeaders, SESSION_HEADER, upstreamRequestHeaders } from './forwarded-headers';
import { JsonRpcBody, JsonRpcCall, parseJsonRpcBody } from './json-rpc';
import { LegacySseUpstream } from './legacy-sse-upstream';
import { AuditOutcome, McpAuditRecorder } from './mcp-audit.recorder';
import { McpMetrics } from './mcp.metrics';
import { needsToolFiltering, RefusedCall, refusalBody, refusedToolCalls, ToolsListFilter } from './tool-access';
import { ClientGone, ForwardedRequest, UpstreamAnswer, UpstreamClient } from './upstream.client';
import { VirtualServerProxy } from '../virtual/virtual-server.proxy';

const tracer = trace.getTracer('@portcullis/edge-proxy');

/** What is known about one request once it is ready to go upstream. */
interface Exchange {
  slug: string;
  startedAt: number;
  principal: Principal;
  target: ServerTarget;
  credential: ReadyCredential;
  calls: JsonRpcCall[];
  traceId: string | null;
  decision: AccessDecision;
  body: JsonRpcBody;
  /** The client's session, opened from its sealed id, with the upstream's own id for this server. */
  session: OpenedSession | null;
}

interface OpenedSession {
  sealedId: string;
  session: Readonly<McpSession>;
  upstreamSessionId: string;
}

/**
 * The MCP hot path (DESIGN §4): authenticate the bearer token, resolve the
 * slug, fetch the upstream credential (each a cached bus look-up), forward
 * with the credential injected and the gateway token removed, stream the
 * answer back, then audit and measure it.
 */
@Injectable()
export class McpProxyService {
  constructor(
    private readonly principals: PrincipalResolver,
    private readonly targets: TargetResolver,
    private readonly credentials: CredentialResolver,
    private readonly decisions: AccessDecisionResolver,
    private readonly virtualServers: VirtualServerResolver,
    private readonly virtual: VirtualServerProxy,
    private readonly upstream: UpstreamClient,
    private readonly legacy: LegacySseUpstream,
    private readonly audit: McpAuditRecorder,
    private readonly metrics: McpMetrics,
    private readonly sessions: SealedSessions,
    private readonly clock: Clock,
    private readonly requiredScopes: RequiredScopes,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Answers the request itself; throws an EdgeError (answered by the exception filter) only before anything was written. */
  handle(request: McpHttpRequest, reply: McpHttpReply, slug: string): Promise<void> {
    // `proxy` ends the span itself: a `then` on its promise would be one promise more per call (docs/performance.md).
    return tracer.startActiveSpan(`mcp ${request.method}`, { kind: SpanKind.INTERNAL, attributes: { 'mcp.server.slug': slug } }, (span) => this.proxy(request, reply, slug, span));
  }

  /** Each early `return` awaits: the span ends (finally) only once the answer did. */
  private async proxy(request: McpHttpRequest, reply: McpHttpReply, slug: string, span: Span): Promise<void> {
    try {
      const startedAt = this.clock.nowMs();
      // Authentication comes first, so an anonymous caller learns nothing about which slugs exist.
      const token = bearerToken(request.headers.authorization);
      // Each look-up is tried on its cache first, synchronously: a warm call awaits nothing before the upstream request.
      const principal = this.principals.cached(token) ?? (await this.principals.authenticate(token).catch((error: unknown) => this.requiredScopes.challenge(error, slug)));
      const body: JsonRpcBody = request.method === 'POST' ? parseJsonRpcBody(request.body) : { calls: [], urlElicitation: false, protocolVersion: null };
      const calls = body.calls;
      const traceId = isSpanContextValid(span.spanContext()) ? span.spanContext().traceId : null;
      // A virtual server is answered by the edge itself (tools only); the slug namespace is shared with servers.
      const knownVirtualServer = this.virtualServers.cached(slug);
      const virtualServer = knownVirtualServer !== undefined ? knownVirtualServer : await this.virtualServers.find(slug);
      if (virtualServer) {
        this.requireScopes(principal, virtualServer, calls, traceId);
        return await this.virtual.handle(request, reply, { principal, token, traceId }, virtualServer, body);
      }
      const target = this.targets.cached(slug) ?? (await this.targets.resolve(slug));
      this.requireScopes(principal, target, calls, traceId);
      const decision = this.decisions.cached(principal, target) ?? (await this.decisions.decide(principal, target));
      if (decision.role === null) {
        this.audit.recordDenials({ calls, principal, server: target.slug, reason: decision.reason, traceId });
        throw new AccessDeniedError(slug);
      }
      const session = this.openSession(request, principal, target);
      const refused = refusedToolCalls(calls, decision);
      if (refused.length > 0) return await this.refuse(request, reply, { calls, principal, slug: target.slug, refused, traceId });
      if (target.transport !== 'streamable-http' && target.transport !== 'sse') throw new UnsupportedTransportError(slug, target.transport);
      const urlElicitation = body.urlElicitation || session?.session.urlElicitation === true;
      const consentAnswer = (error: ConsentRequiredError): EdgeError => {
        // Resolved before anything is forwarded, so a session's first request (`initialize`) is the one answered.
        this.audit.recordConsents({ calls, principal, servers: [target.slug], via: null, traceId });
        return error.forClient(urlElicitation);
      };
      let credential: ReadyCredential;
      try {
        credential = this.credentials.cached(principal, target) ?? (await this.credentials.resolve(principal, target, token));
      } catch (error) {
        throw error instanceof ConsentRequiredError ? consentAnswer(error) : error;
      }

      const exchange: Exchange = { slug, startedAt, principal, target, credential, calls, traceId, decision, body, session };
      // 'close' before the response finished means the client went away: stop the upstream request or stream too.
      const clientGone = target.transport === 'sse' ? new AbortController() : new ClientGone();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) clientGone.abort();
      });
      if (clientGone instanceof AbortController) return await this.forwardLegacy(request, reply, exchange, { token, signal: clientGone.signal, consentAnswer });

      let upstream = await this.send(request, exchange, clientGone);
      if (upstream.statusCode === 401) {
        // The vault's token was refused (revoked, or expired early): it is renewed once and the request sent once more.
        upstream.body.dump();
        let renewed: ReadyCredential | null;
        try {
          renewed = await this.credentials.renew(principal, target, token, exchange.credential);
        } catch (error) {
          this.finish(exchange, 'error', 'upstream answered HTTP 401');
          throw error instanceof ConsentRequiredError ? consentAnswer(error) : error;
        }
        if (renewed === null) {
          // Nothing the vault can renew (a header or passthrough credential); `renew` already dropped it from the cache.
          this.finish(exchange, 'error', 'upstream answered HTTP 401');
          throw new UpstreamRejectedCredentialError(slug, 401);
        }
        exchange.credential = renewed;
        upstream = await this.send(request, exchange, clientGone);
      }

      const status = upstream.statusCode;
      if (status === 401 || status === 403 || status < 200 || (status >= 300 && status < 400)) {
        // Read off (bounded) so the connection can be reused; a failure here only costs that connection.
        upstream.body.dump();
        this.finish(exchange, 'error', `upstream answered HTTP ${status}`);
        // A refused credential is not served from cache again: the next call asks the vault, which may have refreshed it.
        if (status === 401 || status === 403) this.credentials.forgetServer(target.id, principal.id);
        throw status === 401 || status === 403 ? new UpstreamRejectedCredentialError(slug, status) : new UpstreamProtocolError(slug, `HTTP ${status}`);
      }
      await this.stream(upstream, reply, exchange, this.sessionIdForClient(upstream, exchange));
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof EdgeError ? error.code : 'error' });
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * A legacy HTTP+SSE upstream (docs/sessions.md): the same access, credential
   * and audit as above, another transport. A 401 renews the credential once,
   * as for streamable HTTP.
   */
  private async forwardLegacy(
    request: McpHttpRequest,
    reply: McpHttpReply,
    exchange: Exchange,
    context: { token: string | null; signal: AbortSignal; consentAnswer: (error: ConsentRequiredError) => EdgeError },
  ): Promise<void> {
    const { principal, target, slug } = exchange;
    const attempt = () => this.legacy.handle(request, reply, exchange, (outcome, reason) => this.finish(exchange, outcome, reason), context.signal);
    try {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof LegacyUpstreamStatusError) || error.upstreamStatus !== 401) throw error;
        const renewed = await this.credentials.renew(principal, target, context.token, exchange.credential);
        if (renewed === null) throw error;
        exchange.credential = renewed;
        return await attempt();
      }
    } catch (error) {
      this.finish(exchange, 'error', error instanceof LegacyUpstreamStatusError ? `upstream answered HTTP ${error.upstreamStatus}` : error instanceof EdgeError ? error.code : 'upstream_error');
      if (error instanceof ConsentRequiredError) throw context.consentAnswer(error);
      if (!(error instanceof LegacyUpstreamStatusError)) throw error;
      if (error.upstreamStatus === 404) throw new UpstreamProtocolError(slug, 'HTTP 404 to a POSTed message');
      this.credentials.forgetServer(target.id, principal.id);
      throw new UpstreamRejectedCredentialError(slug, error.upstreamStatus);
    }
  }

  private send(request: McpHttpRequest, exchange: Exchange, signal: ClientGone): Promise<UpstreamAnswer> {
    const failed = (error: unknown): never => {
      this.finish(exchange, 'error', error instanceof EdgeError ? error.code : 'upstream_error');
      throw error;
    };
    try {
      return this.upstream.forward(exchange.target, this.upstreamRequest(request, exchange, signal)).catch(failed);
    } catch (error) {
      return failed(error); // a refused address literal, thrown before any request
    }
  }

  /** RFC 6750 §3.1: a scope-limited token must grant every scope the (cached) target requires; refused before anything is forwarded. */
  private requireScopes(principal: Principal, target: ScopedTarget, calls: JsonRpcCall[], traceId: string | null): void {
    const refusal = insufficientScope(principal, target);
    if (refusal === null) return;
    this.audit.recordDenials({ calls, principal, server: target.slug, reason: refusal.code, traceId });
    throw refusal;
  }

  /**
   * The session a request names, opened from its sealed id (null when it names none).
   * @throws UnknownSessionError when the id does not open for this principal and server
   */
  private openSession(request: McpHttpRequest, principal: Principal, target: ServerTarget): OpenedSession | null {
    const sealedId = request.headers[SESSION_HEADER];
    const session = this.sessions.open(sealedId, principal, { kind: 'server', id: target.id, slug: target.slug });
    if (session === null || typeof sealedId !== 'string') return null;
    // The edge seals a plain server's session only around the upstream's own id.
    const upstreamSessionId = session.upstreamSessions[target.id];
    if (upstreamSessionId === undefined) throw new UnknownSessionError();
    return { sealedId, session, upstreamSessionId };
  }

  /**
   * The `Mcp-Session-Id` the client gets in place of the upstream's: the one
   * it sent while the upstream keeps its session, else (at `initialize`) a
   * new one sealed around the upstream's id.
   */
  private sessionIdForClient(upstream: UpstreamAnswer, exchange: Exchange): string | undefined {
    const given = upstream.headers[SESSION_HEADER];
    if (given === undefined) return undefined;
    if (!isUpstreamSessionId(given)) {
      upstream.body.dump();
      this.finish(exchange, 'error', 'upstream session id refused');
      throw new UpstreamProtocolError(exchange.slug, 'an Mcp-Session-Id that is not 1-512 visible ASCII characters');
    }
    const { session, principal, target, body } = exchange;
    if (session !== null && session.upstreamSessionId === given) return session.sealedId;
    return this.sessions.seal({
      principalId: principal.id,
      target: { kind: 'server', id: target.id, slug: target.slug },
      upstreamSessions: { [target.id]: given },
      protocolVersion: body.protocolVersion ?? session?.session.protocolVersion ?? null,
      urlElicitation: body.urlElicitation || session?.session.urlElicitation === true,
    });
  }

  private upstreamRequest(request: McpHttpRequest, exchange: Exchange, signal: ClientGone): ForwardedRequest {
    const { headers, refused } = upstreamRequestHeaders(request.headers, exchange.credential.headers, exchange.session?.upstreamSessionId);
    if (refused.length > 0) this.logger.warn({ server: exchange.slug, refused }, 'unsafe injected headers were not sent upstream');
    // UpstreamClient adds the trace context (its own span's when the trace is recorded).
    const method = request.method as ForwardedRequest['method'];
    return { method, headers, body: method === 'POST' ? (request.body as string) : undefined, signal };
  }

  /**
   * Pipes the upstream answer (JSON or an event stream) to the client chunk
   * by chunk, never buffering it whole; resolves once the answer ended, well
   * or not, and audits it exactly once.
   */
  private stream(upstream: UpstreamAnswer, reply: McpHttpReply, exchange: Exchange, sessionId: string | undefined): Promise<void> {
    const filter = this.toolsListFilter(upstream, exchange);
    reply.hijack();
    const response = reply.raw;
    const body = upstream.body;
    const headers = clientResponseHeaders(upstream.headers, sessionId);
    const eventStream = headers['content-type']?.toLowerCase().startsWith('text/event-stream') === true;
    // An unfiltered JSON answer keeps its length: no chunked framing, so headers and body go out in one write and end() adds none.
    const length = upstream.headers['content-length'];
    if (!eventStream && !filter && typeof length === 'string' && /^\d+$/.test(length)) headers['content-length'] = length;
    response.writeHead(upstream.statusCode, headers);
    // An event stream may stay silent for a long time; the client should see the headers now. Anything else sends them with the body.
    if (eventStream) response.flushHeaders();

    return new Promise<void>((resolve) => {
      let settled = false;
      const settle = (outcome: AuditOutcome, reason: string | null): void => {
        if (settled) return;
        settled = true;
        this.finish(exchange, outcome, reason);
        resolve();
      };
      const interrupted = (error: unknown): void => {
        if (settled) return;
        // Client disconnects end event streams all the time; the upstream request is cancelled too (and by the abort signal).
        this.logger.debug({ err: error, server: exchange.slug }, 'response stream ended early');
        body.destroy();
        filter?.destroy();
        response.destroy();
        settle('error', 'response stream interrupted');
      };
      // Neither `pipe` nor forwardTo() passes errors on: each side's failure ends the others. `on`, not `once` (which wraps
      // each listener): a response closes once, and `interrupted` acts once.
      body.on('error', interrupted);
      filter?.on('error', interrupted);
      response.on('error', interrupted);
      // A response emits 'close' once, finished or cut: one listener instead of stream.finished's set of them.
      response.on('close', () => {
        if (!response.writableFinished) return interrupted(new Error('the connection closed before the answer ended'));
        const ok = upstream.statusCode < 300;
        settle(ok ? 'success' : 'error', ok ? null : `upstream answered HTTP ${upstream.statusCode}`);
      });
      if (filter) body.toReadable().pipe(filter).pipe(response);
      else body.forwardTo(response);
    });
  }

  /**
   * A rewriter for answers to `tools/list` (only those: everything else
   * streams untouched), hiding tools the decision does not show and applying
   * description overrides. An answer it cannot read is refused, never passed unfiltered.
   */
  private toolsListFilter(upstream: UpstreamAnswer, exchange: Exchange): ToolsListFilter | null {
    // Most answers are to a tools/call: they are told apart without building anything.
    if (!exchange.calls.some((call) => call.method === 'tools/list') || upstream.statusCode !== 200 || !needsToolFiltering(exchange.decision)) return null;
    const listIds = new Set(exchange.calls.filter((call) => call.method === 'tools/list').map((call) => call.id));
    const type = String(upstream.headers['content-type'] ?? '').toLowerCase();
    const encoding = String(upstream.headers['content-encoding'] ?? 'identity').toLowerCase();
    const mode = type.startsWith('text/event-stream') ? 'sse' : type.startsWith('application/json') ? 'json' : null;
    if (mode === null || encoding !== 'identity') {
      upstream.body.dump();
      this.finish(exchange, 'error', 'tools/list answer could not be filtered');
      throw new UpstreamProtocolError(exchange.slug, `tools/list answered as ${type || 'no content type'}${encoding === 'identity' ? '' : `, ${encoding}`}`);
    }
    return new ToolsListFilter(mode, listIds, exchange.decision);
  }

  /** Answers refused tool calls here, like unknown tools, without contacting the upstream; each one is audited. */
  private async refuse(
    request: McpHttpRequest,
    reply: McpHttpReply,
    denied: { calls: JsonRpcCall[]; principal: Principal; slug: string; refused: RefusedCall[]; traceId: string | null },
  ): Promise<void> {
    for (const { call, reason } of denied.refused) {
      this.audit.recordDenials({ calls: [call], principal: denied.principal, server: denied.slug, reason, traceId: denied.traceId });
    }
    const batch = typeof request.body === 'string' && request.body.trimStart().startsWith('[');
    await reply.status(200).type('application/json').send(refusalBody(denied.calls, denied.refused, batch));
  }

  private finish(exchange: Exchange, outcome: AuditOutcome, reason: string | null): void {
    const latencyMs = Math.max(0, this.clock.nowMs() - exchange.startedAt);
    this.metrics.observe(exchange.target.slug, exchange.calls, outcome, latencyMs);
    this.audit.record({
      calls: exchange.calls,
      principal: exchange.principal,
      server: exchange.target.slug,
      credential: exchange.credential,
      outcome,
      reason,
      latencyMs,
      traceId: exchange.traceId,
    });
  }
}
