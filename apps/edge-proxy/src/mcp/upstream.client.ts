import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isPrivateAddress, isPrivateAddressRefusal, privateAddressError, privateAddressRefusingLookup, type ServerTarget } from '@portcullis/contracts';
import { MetricsRegistry } from '@portcullis/telemetry';
import { Agent, Dispatcher, errors as undiciErrors, fetch as undiciFetch } from 'undici';
import { EDGE_PROXY_OPTIONS, type EdgeProxyModuleOptions } from '../edge-proxy.options';
import { ClientDisconnectedError, UpstreamAddressRefusedError, UpstreamTimeoutError, UpstreamUnreachableError } from '../errors';
import { UpstreamBody } from './upstream-body';

/** How long opening a connection to an upstream may take. */
export const UPSTREAM_CONNECT_TIMEOUT_MS = 5000;

export interface UpstreamRequest {
  method: 'POST' | 'GET' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  /** Path and query on the target's origin, when not the target URL's own (a legacy SSE server's message endpoint). */
  path?: string;
  /** Aborted when the client goes away, which cancels the upstream request. */
  signal: AbortSignal;
}

export type UpstreamResponse = Dispatcher.ResponseData;

/** An upstream's answer to {@link UpstreamClient.forward}: its head, and its body as undici hands it over. */
export interface UpstreamAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

/** What every upstream request is, whichever way its client's disconnect cancels it. */
type OutgoingRequest = Omit<UpstreamRequest, 'signal'>;

/** A request for {@link UpstreamClient.forward}: its client's disconnect cancels it. */
export interface ForwardedRequest extends OutgoingRequest {
  signal: ClientGone;
}

/**
 * Cancels an upstream request when its client goes away: one listener at a
 * time (the request in flight; a renewed credential's retry follows the
 * first). Not an AbortController (an EventTarget) nor an EventEmitter: this is
 * made on every call, and either cost more than the flag and the slot
 * (docs/performance.md).
 */
export class ClientGone {
  aborted = false;
  private listener: (() => void) | null = null;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.listener;
    this.listener = null;
    listener?.();
  }

  /** `listener` runs once, at the abort; a later `listen` takes its place. */
  listen(listener: () => void): void {
    this.listener = listener;
  }

  unlisten(listener: () => void): void {
    if (this.listener === listener) this.listener = null;
  }
}

/** A `fetch` through the upstream pool; `refusal` is set once it refused a private address. */
export interface GuardedFetch {
  (url: string | URL, init?: RequestInit): Promise<Response>;
  refusal?: UpstreamAddressRefusedError;
}

const tracer = trace.getTracer('@portcullis/edge-proxy');

/** The edge's error for a failed upstream request. */
function upstreamFailure(target: ServerTarget, request: UpstreamRequest | ForwardedRequest, error: unknown): Error {
  if (request.signal.aborted) return new ClientDisconnectedError({ cause: error });
  const code = (error as { code?: unknown }).code;
  if (isPrivateAddressRefusal(error)) return new UpstreamAddressRefusedError(target.slug, { cause: error });
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamTimeoutError(target.slug, target.timeoutMs, { cause: error });
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamTimeoutError(target.slug, UPSTREAM_CONNECT_TIMEOUT_MS, { cause: error });
  return new UpstreamUnreachableError(target.slug, { cause: error });
}

/** What a request needs from a target's URL, parsed once. */
interface ParsedTarget {
  url: string;
  origin: string;
  path: string;
  host: string;
  port: number;
}

// Per target object: TargetResolver caches targets, so a cached one is parsed once, not on every call.
const parsedTargets = new WeakMap<ServerTarget, ParsedTarget>();

function parseTarget(target: ServerTarget): ParsedTarget {
  const known = parsedTargets.get(target);
  // The URL is compared too, so a target changed in place is parsed again rather than served stale.
  if (known?.url === target.url) return known;
  const url = new URL(target.url);
  const parsed: ParsedTarget = {
    url: target.url,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
  };
  parsedTargets.set(target, parsed);
  return parsed;
}

/**
 * Sends requests to upstream MCP servers over shared keep-alive connection
 * pools: one for calls (POST, DELETE) and one for event streams (GET).
 */
@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly allowPrivate: boolean;
  private readonly calls: Agent;
  /**
   * GET event streams hold their connection for as long as a session listens.
   * They have a pool of their own because undici hands a request the first
   * free connection in its list: behind 1,000 open streams to one server,
   * every call would step over all of them first.
   */
  private readonly streams: Agent;

  constructor(@Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions, metrics: MetricsRegistry) {
    // SSRF guard at connect time (DESIGN §9): unless allowed, every connection's resolved address must be public.
    this.allowPrivate = options.outboundAllowPrivate === true;
    const pool = (): Agent =>
      new Agent({
        // Idle connections are dropped before the upstream drops them: an SDK-built server sends no Keep-Alive hint and Node
        // closes idle connections after 5 s, and a request written on a connection being closed fails (docs/reliability.md).
        keepAliveTimeout: 4000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: UPSTREAM_CONNECT_TIMEOUT_MS, ...(!this.allowPrivate && { lookup: privateAddressRefusingLookup }) },
      });
    this.calls = pool();
    this.streams = pool();
    metrics.gauge('portcullis_edge_upstream_connections', 'Open connections to upstream MCP servers on this replica, by pool: calls (POST, DELETE) or event streams (GET)', ['pool'], (gauge) => {
      const connections = this.connections();
      gauge.set({ pool: 'calls' }, connections.calls);
      gauge.set({ pool: 'streams' }, connections.streams);
    });
  }

  /** Open upstream connections in each pool, over every origin. */
  connections(): { calls: number; streams: number } {
    // A pool per origin (PoolStats: a count); a lone Client (ClientStats: a flag) only with `connections: 1`, unused here.
    const connected = (agent: Agent): number => Object.values(agent.stats).reduce((sum, origin) => sum + Number(origin.connected), 0);
    return { calls: connected(this.calls), streams: connected(this.streams) };
  }

  /**
   * Resolves once the upstream has answered with its status and headers; the
   * body is then a stream the caller must consume or destroy. Rejects with
   * UpstreamUnreachableError, UpstreamTimeoutError or ClientDisconnectedError.
   * @throws UpstreamAddressRefusedError (synchronously) for a private address literal
   */
  send(target: ServerTarget, request: UpstreamRequest): Promise<UpstreamResponse> {
    return this.traced(target, request, (url) => this.dispatch(target, url, request));
  }

  /**
   * {@link send} for the proxy's own requests: the answer's body is an
   * {@link UpstreamBody} fed straight from undici's parser rather than a
   * Readable, which is cheaper for every call (docs/performance.md). The
   * caller must consume (`forwardTo`, `toReadable`, `dump`) or `destroy` it.
   * @throws UpstreamAddressRefusedError (synchronously) for a private address literal
   */
  forward(target: ServerTarget, request: ForwardedRequest): Promise<UpstreamAnswer> {
    return this.traced(target, request, (url) => {
      this.refuseAddressLiteral(target, url.host);
      return new Promise<UpstreamAnswer>((answered, failed) => {
        const handler = new ForwardHandler(request.signal, answered, (error) => failed(upstreamFailure(target, request, error)));
        this.poolFor(request).dispatch(this.dispatchOptions(target, url, request), handler);
      });
    });
  }

  /** Not an async function: on the hot path the promise is the request's own (each extra one costs the edge; docs/performance.md). */
  private traced<T extends { statusCode: number; body: EventEmitter }>(target: ServerTarget, request: OutgoingRequest, start: (url: ParsedTarget) => Promise<T>): Promise<T> {
    const url = parseTarget(target);
    if (!trace.getActiveSpan()?.isRecording()) {
      // A trace nobody records gets no child span (it would record nothing either): the upstream continues the request's.
      propagation.inject(context.active(), request.headers);
      return start(url);
    }
    return this.startTraced(target, url, request, start);
  }

  private async startTraced<T extends { statusCode: number; body: EventEmitter }>(
    target: ServerTarget,
    url: ParsedTarget,
    request: OutgoingRequest,
    start: (url: ParsedTarget) => Promise<T>,
  ): Promise<T> {
    // A child of the request's span, open until the answer's body ends; origin only (a path or query may hold a secret).
    const span = tracer.startSpan(`upstream ${request.method}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': request.method, 'server.address': url.host, 'server.port': url.port, 'portcullis.server': target.slug },
    });
    // The upstream continues the trace from this span, not from the edge's.
    propagation.inject(trace.setSpan(context.active(), span), request.headers);
    try {
      const response = await start(url);
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.statusCode}` });
      response.body.once('close', () => span.end());
      return response;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as { code?: string }).code ?? 'error' });
      span.end();
      throw error;
    }
  }

  /**
   * A `fetch` for the SDK client transports a virtual server's upstreams use:
   * the same pool and the same SSRF guard as {@link send}. It remembers a
   * refused address, which the SDK's SSE client would otherwise report only as
   * a failed event stream.
   */
  fetchFor(target: ServerTarget): GuardedFetch {
    const guarded: GuardedFetch = async (url, init) => {
      try {
        this.refuseAddressLiteral(target, new URL(url).hostname);
        const method = (init?.method ?? 'GET').toUpperCase();
        return (await undiciFetch(url, { ...(init as object), dispatcher: method === 'GET' ? this.streams : this.calls })) as unknown as Response;
      } catch (error) {
        if (error instanceof UpstreamAddressRefusedError) guarded.refusal = error;
        else if (isPrivateAddressRefusal(error)) guarded.refusal = new UpstreamAddressRefusedError(target.slug, { cause: error });
        throw guarded.refusal ?? error;
      }
    };
    return guarded;
  }

  /** An address literal never goes through `lookup`, so it is checked before connecting. */
  private refuseAddressLiteral(target: ServerTarget, hostname: string): void {
    const host = hostname.replace(/^\[|\]$/g, '');
    if (!this.allowPrivate && isIP(host) && isPrivateAddress(host)) throw new UpstreamAddressRefusedError(target.slug, { cause: privateAddressError() });
  }

  /** @throws (synchronously) UpstreamAddressRefusedError for a private address literal; the promise rejects with the others. */
  private dispatch(target: ServerTarget, url: ParsedTarget, request: UpstreamRequest): Promise<UpstreamResponse> {
    this.refuseAddressLiteral(target, url.host);
    return this.poolFor(request)
      .request({ ...this.dispatchOptions(target, url, request), signal: request.signal })
      .catch((error: unknown) => {
        throw upstreamFailure(target, request, error);
      });
  }

  private poolFor(request: OutgoingRequest): Agent {
    return request.method === 'GET' ? this.streams : this.calls;
  }

  private dispatchOptions(target: ServerTarget, url: ParsedTarget, request: OutgoingRequest): Dispatcher.DispatchOptions {
    return {
      origin: url.origin,
      path: request.path ?? url.path,
      method: request.method,
      headers: request.headers,
      body: request.body,
      headersTimeout: target.timeoutMs,
      // Event streams may stay quiet for as long as a tool runs or a session lives; the client's disconnect ends them.
      bodyTimeout: 0,
    };
  }

  /** Ends open upstream streams too, so event streams do not hold the HTTP server open at shutdown. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.calls.destroy(), this.streams.destroy()]);
  }
}

/**
 * undici's dispatch handler behind {@link UpstreamClient.forward}: the
 * answer's head settles the promise, its body goes to an UpstreamBody, and
 * the client's disconnect aborts the request.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private body: UpstreamBody | null = null;
  private readonly clientGone = (): void => this.controller?.abort(new undiciErrors.RequestAbortedError());

  constructor(
    private readonly signal: ClientGone,
    private readonly answered: (answer: UpstreamAnswer) => void,
    private readonly failed: (error: unknown) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.controller === null) this.signal.listen(this.clientGone);
    this.controller = controller;
    if (this.signal.aborted) controller.abort(new undiciErrors.RequestAbortedError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // an informational answer: the real one follows
    this.body = new UpstreamBody(controller);
    this.answered({ statusCode, headers, body: this.body });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body?.push(chunk);
  }

  onResponseEnd(): void {
    this.signal.unlisten(this.clientGone);
    this.body?.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.signal.unlisten(this.clientGone);
    if (this.body === null) this.failed(error);
    else this.body.fail(error);
  }
}
