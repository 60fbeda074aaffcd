import { randomBytes } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { AccessDecision, Principal, ReadyCredential, ServerTarget } from '@portcullis/contracts';
import { LOGGER, Logger, MetricsRegistry } from '@portcullis/telemetry';
import type { Counter } from 'prom-client';
import type { McpHttpReply, McpHttpRequest } from './mcp-http';
import { Clock } from '../clock';
import {
  EdgeError,
  InvalidMessageError,
  LegacyUpstreamStatusError,
  StreamConflictError,
  UnknownSessionError,
  UpstreamConnectionsExhaustedError,
  UpstreamProtocolError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../errors';
import type { McpSession } from '../sessions/mcp-session';
import { SealedSessions } from '../sessions/sealed-sessions.service';
import { SESSION_HEADER, upstreamRequestHeaders } from './forwarded-headers';
import type { JsonRpcBody, JsonRpcCall, JsonRpcId } from './json-rpc';
import { idKey, JsonRpcMessage, LegacySseConnection } from './legacy-sse-connection';
import type { AuditOutcome } from './mcp-audit.recorder';
import { serverSentEvent } from './sse-parser';
import { filterToolsListMessage, needsToolFiltering } from './tool-access';
import { UpstreamClient } from './upstream.client';

/** Legacy upstream connections one edge replica keeps open at most. */
export const LEGACY_SSE_MAX_CONNECTIONS = 256;
/** A connection that carried no request for this long is closed (the upstream then ends its session). */
export const LEGACY_SSE_IDLE_MS = 5 * 60_000;
/** The client's `initialize` params are sealed into the session id; beyond this size only their core is kept. */
const MAX_SEALED_INITIALIZE_CHARS = 1500;

/** What the proxy knows about one request to a legacy server, once access and credential are settled. */
export interface LegacyExchange {
  principal: Principal;
  target: ServerTarget;
  credential: ReadyCredential;
  decision: AccessDecision;
  calls: JsonRpcCall[];
  body: JsonRpcBody;
  session: { sealedId: string; session: Readonly<McpSession>; upstreamSessionId: string } | null;
}

/**
 * Proxies streamable HTTP clients to legacy HTTP+SSE upstreams (MCP
 * 2024-11-05; docs/sessions.md "Legacy SSE servers"). Each replica keeps a
 * bounded pool of upstream connections keyed by principal, server and the
 * random upstream key sealed in the client's session id; a replica without
 * the session's connection opens one and initializes it again with the
 * sealed `initialize` params.
 *
 * `handle` either resolves having answered and audited (`finish`), or
 * rejects with nothing written and nothing audited, so the caller may retry
 * (a renewed credential) or answer the error.
 */
@Injectable()
export class LegacySseUpstream implements OnModuleDestroy {
  maxConnections = LEGACY_SSE_MAX_CONNECTIONS;
  idleMs = LEGACY_SSE_IDLE_MS;
  /** Open connections by pool key, least recently used first. */
  private readonly connections = new Map<string, LegacySseConnection>();
  /** Connections being opened, so concurrent requests of one session share one. */
  private readonly opening = new Map<string, Promise<LegacySseConnection>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly reinitializations: Counter<'server'>;

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly sessions: SealedSessions,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsRegistry,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 15_000);
    this.sweeper.unref();
    metrics.gauge('portcullis_edge_legacy_sse_connections', 'Open connections to legacy SSE upstreams on this replica, busy (a request pending or a client listening) or idle', ['state'], (gauge) => {
      const busy = [...this.connections.values()].filter((connection) => connection.busy).length;
      gauge.set({ state: 'busy' }, busy);
      gauge.set({ state: 'idle' }, this.connections.size - busy);
    });
    this.reinitializations = metrics.counter(
      'portcullis_edge_legacy_sse_reinitializations_total',
      'Legacy SSE sessions initialized again by the edge on a new connection (another replica, an idle-closed or lost connection)',
      ['server'],
    );
  }

  /** Open connections on this replica. */
  get size(): number {
    return this.connections.size;
  }

  async handle(request: McpHttpRequest, reply: McpHttpReply, exchange: LegacyExchange, finish: (outcome: AuditOutcome, reason: string | null) => void, signal: AbortSignal): Promise<void> {
    if (request.method === 'GET') return this.listen(reply, exchange, finish, signal);
    if (request.method === 'DELETE') {
      if (exchange.session === null) throw new InvalidMessageError('Bad Request: DELETE needs an Mcp-Session-Id');
      // Closing the event stream ends the upstream session; a connection another replica opened for it ends at its idle timeout.
      this.connections.get(this.poolKey(exchange, exchange.session.upstreamSessionId))?.close();
      await reply.status(200).send();
      return finish('success', null);
    }
    const parsed: unknown = JSON.parse(request.body as string);
    const batch = Array.isArray(parsed);
    const messages = (batch ? parsed : [parsed]) as JsonRpcMessage[];
    const initialize = messages.find((message) => message['method'] === 'initialize');
    const headers = this.injectedHeaders(exchange);

    if (initialize !== undefined) {
      // A new session: a new upstream connection under a new random key, whatever session the request named.
      const upstreamKey = randomBytes(18).toString('base64url');
      const legacyInitialize = sealableInitialize(initialize['params'], exchange.body.protocolVersion);
      const sealedId = this.sessions.seal({
        principalId: exchange.principal.id,
        target: { kind: 'server', id: exchange.target.id, slug: exchange.target.slug },
        upstreamSessions: { [exchange.target.id]: upstreamKey },
        protocolVersion: exchange.body.protocolVersion,
        urlElicitation: exchange.body.urlElicitation,
        legacyInitialize,
      });
      const connection = await this.connection(exchange, upstreamKey, headers, null);
      return this.forward(connection, messages, batch, { reply, exchange, headers, sealedId, finish, signal });
    }
    if (exchange.session === null) throw new InvalidMessageError('Bad Request: no Mcp-Session-Id; a session starts with initialize');
    const { sealedId, upstreamSessionId, session } = exchange.session;
    // A session sealed for this server while it spoke streamable HTTP: the client starts a new one.
    if (session.legacyInitialize === undefined) throw new UnknownSessionError();
    const connection = await this.connection(exchange, upstreamSessionId, headers, session.legacyInitialize);
    try {
      return await this.forward(connection, messages, batch, { reply, exchange, headers, sealedId, finish, signal });
    } catch (error) {
      // The upstream forgot this connection's session (it restarted, say): once, a new connection initialized again.
      if (!(error instanceof LegacyUpstreamStatusError) || error.upstreamStatus !== 404) throw error;
      connection.close();
      const fresh = await this.connection(exchange, upstreamSessionId, headers, session.legacyInitialize);
      return this.forward(fresh, messages, batch, { reply, exchange, headers, sealedId, finish, signal });
    }
  }

  /**
   * The client's standalone event stream (its GET): what the upstream sends
   * while none of the session's requests is pending on this replica, e.g.
   * list-changed notifications. Open until the client or the upstream ends it.
   */
  private async listen(reply: McpHttpReply, exchange: LegacyExchange, finish: (outcome: AuditOutcome, reason: string | null) => void, signal: AbortSignal): Promise<void> {
    if (exchange.session === null) throw new InvalidMessageError('Bad Request: GET needs an Mcp-Session-Id');
    const { sealedId, upstreamSessionId, session } = exchange.session;
    if (session.legacyInitialize === undefined) throw new UnknownSessionError();
    const connection = await this.connection(exchange, upstreamSessionId, this.injectedHeaders(exchange), session.legacyInitialize);
    const response = reply.raw;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      const end = (outcome: AuditOutcome, reason: string | null): void => {
        signal.removeEventListener('abort', onAbort);
        connection.detach();
        finish(outcome, reason);
        resolve();
      };
      const onAbort = (): void => {
        response.destroy();
        end('success', null);
      };
      const attached = connection.attach({
        onMessage: (message) => void response.write(serverSentEvent(JSON.stringify(message))),
        onClosed: (error) => {
          if (!started) return reject(error);
          response.end();
          end('error', error.code);
        },
      });
      if (!attached) return reject(new StreamConflictError());
      if (connection.closed) return;
      started = true;
      reply.hijack();
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', [SESSION_HEADER]: sealedId });
      response.flushHeaders();
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The credential's headers (the same a streamable HTTP server gets), sent with the GET and every POST. */
  private injectedHeaders(exchange: LegacyExchange): Record<string, string> {
    const { headers, refused } = upstreamRequestHeaders({}, exchange.credential.headers);
    if (refused.length > 0) this.logger.warn({ server: exchange.target.slug, refused }, 'unsafe injected headers were not sent upstream');
    return headers;
  }

  /** Bound to who, which server (and URL) and which session: a connection never serves another principal's session. */
  private poolKey(exchange: LegacyExchange, upstreamKey: string): string {
    return JSON.stringify([exchange.principal.id, exchange.target.id, exchange.target.url, upstreamKey]);
  }

  /** This replica's connection for the session, else a new one, initialized again with `reinitialize` unless the client is initializing. */
  private async connection(exchange: LegacyExchange, upstreamKey: string, headers: Record<string, string>, reinitialize: Record<string, unknown> | null): Promise<LegacySseConnection> {
    const key = this.poolKey(exchange, upstreamKey);
    const open = this.connections.get(key);
    if (open && !open.closed) {
      this.connections.delete(key);
      this.connections.set(key, open);
      return open;
    }
    const pending = this.opening.get(key);
    if (pending) return pending;
    this.makeRoom();
    const opening = this.open(exchange.target, key, headers, reinitialize).finally(() => this.opening.delete(key));
    this.opening.set(key, opening);
    return opening;
  }

  private async open(target: ServerTarget, key: string, headers: Record<string, string>, reinitialize: Record<string, unknown> | null): Promise<LegacySseConnection> {
    const connection = await LegacySseConnection.open({
      upstream: this.upstream,
      target,
      headers,
      logger: this.logger,
      now: () => this.clock.nowMs(),
      onClosed: (closed) => {
        if (this.connections.get(key) === closed) this.connections.delete(key);
      },
    });
    if (reinitialize !== null) {
      try {
        const answer = await connection.request('initialize', reinitialize, headers);
        if (answer['error'] !== undefined) throw new UpstreamProtocolError(target.slug, 'an error answer to initializing the session again on a new connection');
        await connection.post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
        connection.initializedByEdge = true;
        this.reinitializations.inc({ server: target.slug });
      } catch (error) {
        connection.close();
        throw error;
      }
      this.logger.debug({ server: target.slug }, 'legacy SSE session initialized again on this replica');
    }
    this.connections.set(key, connection);
    return connection;
  }

  /** At the bound, the least recently used idle connection is closed; when every one is busy, the new one is refused. */
  private makeRoom(): void {
    for (const connection of [...this.connections.values()]) {
      if (this.connections.size + this.opening.size < this.maxConnections) return;
      if (!connection.busy) connection.close();
    }
    if (this.connections.size + this.opening.size >= this.maxConnections) throw new UpstreamConnectionsExhaustedError();
  }

  /** Closes connections idle for longer than `idleMs` (runs every 15 s; `now` for tests). */
  sweep(now = this.clock.nowMs()): void {
    for (const connection of [...this.connections.values()]) {
      if (!connection.busy && now - connection.lastUsedAt > this.idleMs) connection.close();
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    for (const connection of [...this.connections.values()]) connection.close();
  }

  /**
   * POSTs the client's messages and answers its requests: as JSON when only
   * the answers arrive, as an event stream once the upstream sends anything
   * else for them first (progress, logging, sampling, elicitation), which is
   * forwarded as it comes. Messages without requests are answered 202.
   */
  private forward(
    connection: LegacySseConnection,
    messages: JsonRpcMessage[],
    batch: boolean,
    context: { reply: McpHttpReply; exchange: LegacyExchange; headers: Record<string, string>; sealedId: string; finish: (outcome: AuditOutcome, reason: string | null) => void; signal: AbortSignal },
  ): Promise<void> {
    const { reply, exchange, headers, sealedId, finish, signal } = context;
    const { target, decision } = exchange;
    const requests = messages.filter(isRequest);
    const listIds = new Set(exchange.calls.filter((call) => call.method === 'tools/list').map((call) => call.id));
    const filter = needsToolFiltering(decision) && listIds.size > 0;
    const response = reply.raw;

    return new Promise<void>((resolve, reject) => {
      const answers = new Map<string, JsonRpcMessage>();
      let streaming = false;
      let done = false;
      /** Failed, timed out or the client left: the messages not yet POSTed are not sent. A success still sends them (all answers may beat a batch's last notification). */
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;

      const cleanUp = (): void => {
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        for (const request of requests) connection.forget(request.id);
      };
      const succeed = (): void => {
        cleanUp();
        finish('success', null);
        resolve();
      };
      const answerOf = (message: JsonRpcMessage): JsonRpcMessage => (filter ? (filterToolsListMessage(message, listIds, decision) as JsonRpcMessage) : message);
      const write = (message: JsonRpcMessage): void => void response.write(serverSentEvent(JSON.stringify(message)));
      const fail = (error: EdgeError): void => {
        if (done) return;
        stopped = true;
        cleanUp();
        if (!streaming) return reject(error);
        // The stream has started: each request still unanswered gets the error as its answer.
        for (const request of requests) if (!answers.has(idKey(request.id))) write({ jsonrpc: '2.0', id: request.id, error: error.jsonRpcError() });
        response.end();
        finish('error', error.code);
        resolve();
      };
      const cancelUpstream = (reason: string): void => {
        for (const request of requests) {
          if (answers.has(idKey(request.id))) continue;
          connection.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: request.id, reason } }, headers).catch(() => undefined);
        }
      };
      const onAbort = (): void => {
        if (done) return;
        stopped = true;
        cancelUpstream('the client disconnected');
        cleanUp();
        response.destroy();
        finish('error', 'client disconnected');
        resolve();
      };
      // The per-request timeout runs until the answer, restarted by each message the upstream sends for it (progress).
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          cancelUpstream('the gateway timed out waiting for the answer');
          fail(new UpstreamTimeoutError(target.slug, target.timeoutMs));
        }, target.timeoutMs);
      };
      const startStream = (): void => {
        streaming = true;
        reply.hijack();
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', [SESSION_HEADER]: sealedId });
        response.flushHeaders();
        for (const answer of answers.values()) write(answer);
      };
      const complete = (): void => {
        if (streaming) {
          response.end();
        } else {
          reply.hijack();
          const ordered = requests.map((request) => answers.get(idKey(request.id)));
          const body = JSON.stringify(batch ? ordered : ordered[0]);
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), [SESSION_HEADER]: sealedId });
          response.end(body);
        }
        succeed();
      };

      for (const request of requests) {
        const registered = connection.expect(request.id, {
          progressToken: progressTokenOf(request),
          onMessage: (message) => {
            if (done) return;
            arm();
            if (!streaming) startStream();
            write(message);
          },
          onAnswer: (message) => {
            if (done) return;
            const answer = answerOf(message);
            answers.set(idKey(request.id), answer);
            if (streaming) write(answer);
            if (answers.size === requests.length) complete();
          },
          onClosed: fail,
        });
        if (!registered) {
          cleanUp();
          return reject(new InvalidMessageError(`Invalid Request: a request with id ${JSON.stringify(request.id).slice(0, 100)} is already pending in this session`));
        }
      }
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      if (requests.length > 0) arm();

      void (async () => {
        for (const message of messages) {
          if (stopped) return;
          if (message['method'] === 'notifications/initialized' && connection.initializedByEdge) continue;
          try {
            await connection.post(message, headers);
          } catch (error) {
            if (done) return this.logger.debug({ server: target.slug }, 'a message after the answers could not be POSTed');
            // Before anything was written the caller answers (or retries); a failure mid-stream ends the stream.
            return fail(error instanceof EdgeError ? error : new UpstreamUnreachableError(target.slug, { cause: error }));
          }
        }
        if (requests.length === 0 && !done) {
          cleanUp();
          await reply.status(202).header(SESSION_HEADER, sealedId).send();
          finish('success', null);
          resolve();
        }
      })();
    });
  }
}

function isRequest(message: JsonRpcMessage): message is JsonRpcMessage & { id: JsonRpcId; method: string } {
  const id = message['id'];
  return typeof message['method'] === 'string' && (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)));
}

function progressTokenOf(request: JsonRpcMessage): unknown {
  const params = request['params'];
  const meta = isObject(params) ? params['_meta'] : undefined;
  return isObject(meta) ? meta['progressToken'] : undefined;
}

/**
 * What the edge seals to initialize the session again: protocol version,
 * capabilities and client name and version. Capabilities too large for the
 * session id are cut down to the names of the standard ones.
 */
export function sealableInitialize(params: unknown, protocolVersion: string | null): Record<string, unknown> {
  const given = isObject(params) ? params : {};
  const info = isObject(given['clientInfo']) ? given['clientInfo'] : {};
  const clientInfo = {
    name: typeof info['name'] === 'string' ? info['name'].slice(0, 200) : 'unknown',
    version: typeof info['version'] === 'string' ? info['version'].slice(0, 100) : '0',
  };
  const capabilities = isObject(given['capabilities']) ? given['capabilities'] : {};
  const full = { protocolVersion: protocolVersion ?? '2024-11-05', capabilities, clientInfo };
  if (JSON.stringify(full).length <= MAX_SEALED_INITIALIZE_CHARS) return full;
  const standard = ['roots', 'sampling', 'elicitation'].filter((name) => name in capabilities);
  return { ...full, capabilities: Object.fromEntries(standard.map((name) => [name, {}])) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
