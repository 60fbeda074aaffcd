import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { ServerTarget } from '@portcullis/contracts';
import type { Logger } from '@portcullis/telemetry';
import { EdgeError, LegacyUpstreamStatusError, UpstreamProtocolError, UpstreamTimeoutError } from '../errors';
import type { JsonRpcId } from './json-rpc';
import { SseParser } from './sse-parser';
import type { UpstreamClient, UpstreamResponse } from './upstream.client';

/** A JSON-RPC message as read from, or sent to, a legacy upstream. */
export type JsonRpcMessage = Record<string, unknown>;

/** Where the messages of one pending client request go. */
export interface PendingRequest {
  /** `params._meta.progressToken` of the request, which its progress notifications carry. */
  progressToken: unknown;
  /** A server-to-client request or notification sent while this request was pending. */
  onMessage(message: JsonRpcMessage): void;
  /** The response to the request (a result or an error). */
  onAnswer(message: JsonRpcMessage): void;
  /** The event stream ended before the answer. */
  onClosed(error: EdgeError): void;
}

/** What opening a connection needs. */
export interface LegacyConnectionOptions {
  upstream: UpstreamClient;
  target: ServerTarget;
  /** Credential headers (and trace context): the GET carries them, as every POST does. */
  headers: Record<string, string>;
  logger: Logger;
  /** The edge's clock, in ms since the epoch (when a connection was last used). */
  now(): number;
  onClosed(connection: LegacySseConnection): void;
}

/** A key for a JSON-RPC id: 1 and "1" are different requests. */
export function idKey(id: JsonRpcId): string {
  return `${typeof id}:${id}`;
}

/**
 * One connection to a legacy HTTP+SSE upstream (MCP 2024-11-05): the event
 * stream opened by GET, the message endpoint its `endpoint` event named, and
 * the client requests waiting for their answers on the stream, by id.
 */
export class LegacySseConnection {
  /** Path and query of the message endpoint on the server's origin (the edge refuses any other origin). */
  private endpointPath: string | null = null;
  private readonly pending = new Map<string, PendingRequest>();
  /** The client's own event stream (its GET), for what the server sends while no request is pending. */
  private standalone: Omit<PendingRequest, 'progressToken' | 'onAnswer'> | null = null;
  private readonly aborted = new AbortController();
  private body: UpstreamResponse['body'] | null = null;
  private closedError: EdgeError | null = null;
  private endpointWaiter: { resolve(): void; reject(error: EdgeError): void } | null = null;
  /** When it last carried a request (ms since the epoch), for the idle sweep. */
  lastUsedAt: number;
  /** Whether the edge itself initialized the upstream session (after a fail-over): the client's `notifications/initialized` is then not sent twice. */
  initializedByEdge = false;

  private constructor(private readonly options: LegacyConnectionOptions) {
    this.lastUsedAt = options.now();
  }

  /**
   * Opens the event stream and waits for its `endpoint` event.
   * @throws LegacyUpstreamStatusError on a 401/403; UpstreamProtocolError, UpstreamTimeoutError and the UpstreamClient's errors otherwise
   */
  static async open(options: LegacyConnectionOptions): Promise<LegacySseConnection> {
    const connection = new LegacySseConnection(options);
    try {
      await connection.connect();
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Whether a client request is waiting for its answer, or the client listens on its GET (a busy connection is never swept nor evicted). */
  get busy(): boolean {
    return this.pending.size > 0 || this.standalone !== null;
  }

  /** Listens as the client's standalone stream; false when one already does (one per session, as the MCP SDK's servers allow). */
  attach(listener: Omit<PendingRequest, 'progressToken' | 'onAnswer'>): boolean {
    if (this.closedError) {
      listener.onClosed(this.closedError);
      return true;
    }
    if (this.standalone !== null) return false;
    this.standalone = listener;
    return true;
  }

  detach(): void {
    this.standalone = null;
    this.lastUsedAt = this.options.now();
  }

  private async connect(): Promise<void> {
    const { upstream, target, headers } = this.options;
    const response = await upstream.send(target, { method: 'GET', headers: { ...headers, accept: 'text/event-stream' }, signal: this.aborted.signal });
    this.body = response.body;
    const type = String(response.headers['content-type'] ?? '').toLowerCase();
    if (response.statusCode === 401 || response.statusCode === 403) throw new LegacyUpstreamStatusError(target.slug, response.statusCode);
    if (response.statusCode !== 200) throw new UpstreamProtocolError(target.slug, `HTTP ${response.statusCode} to the event stream's GET`);
    if (!type.startsWith('text/event-stream')) throw new UpstreamProtocolError(target.slug, `the event stream's GET answered as ${type.slice(0, 100) || 'no content type'}`);

    const endpoint = new Promise<void>((resolve, reject) => (this.endpointWaiter = { resolve, reject }));
    const parser = new SseParser(({ event, data }) => {
      if (event === 'endpoint') this.onEndpoint(data);
      else if (event === 'message') this.onMessage(data);
    });
    // Chunks may split a multi-byte character; the decoder holds the partial bytes back.
    const decoder = new StringDecoder('utf8');
    response.body.on('data', (chunk: Buffer) => {
      try {
        parser.feed(decoder.write(chunk));
      } catch (error) {
        this.fail(new UpstreamProtocolError(target.slug, (error as Error).message));
      }
    });
    response.body.once('error', () => this.fail(new UpstreamProtocolError(target.slug, 'the event stream failed')));
    response.body.once('end', () => this.fail(new UpstreamProtocolError(target.slug, 'the event stream ended')));
    await withTimeout(endpoint, target.timeoutMs, () => new UpstreamTimeoutError(target.slug, target.timeoutMs));
  }

  /** The message endpoint must be on the server's own origin: an upstream may not send the edge's POSTs (and credentials) elsewhere. */
  private onEndpoint(data: string): void {
    const { target } = this.options;
    if (this.endpointPath !== null) return;
    let url: URL;
    try {
      url = new URL(data.trim(), target.url);
    } catch {
      return this.fail(new UpstreamProtocolError(target.slug, 'an endpoint event that is not a URL'));
    }
    if (url.origin !== new URL(target.url).origin) {
      return this.fail(new UpstreamProtocolError(target.slug, `an endpoint event naming another origin (${url.origin.slice(0, 200)}), refused: messages go only to the server's own origin`));
    }
    this.endpointPath = `${url.pathname}${url.search}`;
    this.endpointWaiter?.resolve();
  }

  private onMessage(data: string): void {
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      this.options.logger.debug({ server: this.options.target.slug }, 'legacy SSE upstream sent a message event that is not JSON');
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
    this.route(message as JsonRpcMessage);
  }

  /**
   * Answers go to the request with their id. Anything else the server sends
   * (requests, notifications) goes to the request it belongs to: by progress
   * token, else the oldest pending request (the legacy transport does not
   * say which request a message belongs to), else the client's standalone
   * stream; with neither it has nowhere to go and is dropped (a `ping` the
   * edge answers).
   */
  private route(message: JsonRpcMessage): void {
    const id = message['id'];
    if (typeof message['method'] !== 'string') {
      if (typeof id !== 'string' && typeof id !== 'number') return;
      const pending = this.pending.get(idKey(id));
      this.pending.delete(idKey(id));
      pending?.onAnswer(message);
      return;
    }
    const params = message['params'];
    const token = typeof params === 'object' && params !== null ? (params as Record<string, unknown>)['progressToken'] : undefined;
    let target: PendingRequest | undefined;
    if (token !== undefined) for (const pending of this.pending.values()) if (pending.progressToken === token) target = pending;
    target ??= this.pending.values().next().value;
    if (target) target.onMessage(message);
    else if (this.standalone) this.standalone.onMessage(message);
    else if (message['method'] === 'ping' && (typeof id === 'string' || typeof id === 'number')) {
      // Nobody to ask: the edge, the upstream's client, answers its liveness check itself.
      this.post({ jsonrpc: '2.0', id, result: {} }, this.options.headers).catch(() => undefined);
    } else this.options.logger.debug({ server: this.options.target.slug, method: String(message['method']).slice(0, 100) }, 'legacy SSE upstream message with no pending request dropped');
  }

  /** Waits for the answer to the request with `id` (to register before it is POSTed: the answer may beat the POST's 202). */
  expect(id: JsonRpcId, pending: PendingRequest): boolean {
    if (this.closedError) {
      pending.onClosed(this.closedError);
      return true;
    }
    // Answers are matched by id: a second request with the id of one still pending could not be told apart.
    if (this.pending.has(idKey(id))) return false;
    this.pending.set(idKey(id), pending);
    this.lastUsedAt = this.options.now();
    return true;
  }

  /** Stops waiting (the client left, or the request timed out). */
  forget(id: JsonRpcId): void {
    this.pending.delete(idKey(id));
    this.lastUsedAt = this.options.now();
  }

  /**
   * POSTs one message to the message endpoint.
   * @throws LegacyUpstreamStatusError on a 401, 403 or 404 (the upstream lost this connection's session); UpstreamProtocolError on any other non-2xx
   */
  async post(message: JsonRpcMessage, headers: Record<string, string>): Promise<void> {
    const { upstream, target } = this.options;
    if (this.closedError) throw this.closedError;
    this.lastUsedAt = this.options.now();
    const response = await upstream.send(target, {
      method: 'POST',
      path: this.endpointPath!,
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(message),
      // Not the client's signal: a client that leaves still gets its `notifications/cancelled` POSTed.
      signal: this.aborted.signal,
    });
    response.body.dump().catch(() => undefined);
    const status = response.statusCode;
    if (status === 401 || status === 403 || status === 404) throw new LegacyUpstreamStatusError(target.slug, status);
    if (status < 200 || status >= 300) throw new UpstreamProtocolError(target.slug, `HTTP ${status} to a POSTed message`);
  }

  /** POSTs a request of the edge's own and waits for its answer (the re-initialization after a fail-over). */
  async request(method: string, params: unknown, headers: Record<string, string>): Promise<JsonRpcMessage> {
    const { target } = this.options;
    const id = `portcullis-${randomUUID()}`;
    const answer = new Promise<JsonRpcMessage>((resolve, reject) =>
      this.expect(id, { progressToken: undefined, onMessage: () => undefined, onAnswer: resolve, onClosed: reject }),
    );
    try {
      await this.post({ jsonrpc: '2.0', id, method, params }, headers);
      return await withTimeout(answer, target.timeoutMs, () => new UpstreamTimeoutError(target.slug, target.timeoutMs));
    } finally {
      this.forget(id);
    }
  }

  private fail(error: EdgeError): void {
    if (this.closedError) return;
    this.closedError = error;
    this.endpointWaiter?.reject(error);
    const pending = [...this.pending.values(), ...(this.standalone ? [this.standalone] : [])];
    this.pending.clear();
    this.standalone = null;
    for (const request of pending) request.onClosed(error);
    this.aborted.abort();
    this.body?.destroy();
    this.options.onClosed(this);
  }

  /** Closes the event stream: the upstream ends its session. Pending requests fail. */
  close(): void {
    this.fail(new UpstreamProtocolError(this.options.target.slug, 'the connection was closed'));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, error: () => EdgeError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
