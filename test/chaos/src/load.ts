import { randomUUID } from 'node:crypto';
import { sleep } from '@portcullis/testing';

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } as const;

/** One agent's MCP session on one gateway server: its API key and the (sealed) session id any edge accepts. */
export interface Target {
  kind: string;
  slug: string;
  token: string;
  sessionId: string | null;
}

/** One HTTP attempt of a call. */
export interface Attempt {
  edge: number;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  /** HTTP status, or `network` when no answer came back (connection reset, refused, timeout). */
  status: number | 'network';
  detail?: string;
  /** The service a 503 names (`error.data.dependency`). */
  dependency?: string;
}

/** One logical tools/call: its first attempt and the retries a patient agent makes with backoff. */
export interface Call {
  kind: string;
  startedAt: number;
  attempts: Attempt[];
  /** When it first succeeded, if ever. */
  succeededAt: number | null;
}

/** Parses a JSON-RPC answer sent as JSON or as one SSE `data:` event. */
export function jsonRpcOf(contentType: string | null, text: string): any {
  if (contentType?.includes('text/event-stream')) {
    const data = text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .find((line) => line.startsWith('{'));
    return data ? JSON.parse(data) : null;
  }
  return text ? JSON.parse(text) : null;
}

/** `initialize` + `notifications/initialized` on one edge; answers the session id the edge hands out (null for a stateless upstream). */
export async function openSession(edgeUrl: string, slug: string, token: string): Promise<string | null> {
  const response = await fetch(`${edgeUrl}/mcp/${slug}`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'chaos-load', version: '1.0.0' } } }),
  });
  const body = jsonRpcOf(response.headers.get('content-type'), await response.text());
  if (response.status !== 200 || !body?.result) throw new Error(`initialize on ${slug} answered ${response.status}: ${JSON.stringify(body)}`);
  const sessionId = response.headers.get('mcp-session-id');
  await fetch(`${edgeUrl}/mcp/${slug}`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...(sessionId ? { 'mcp-session-id': sessionId } : {}), 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  }).then((r) => r.text());
  return sessionId;
}

/** One `tools/call echo` over plain HTTP JSON-RPC; succeeds only on a 200 whose result echoes the message. */
export async function callEcho(edgeUrl: string, target: Target, timeoutMs: number): Promise<{ ok: boolean; status: number | 'network'; detail?: string; dependency?: string; body?: any }> {
  const message = randomUUID();
  try {
    const response = await fetch(`${edgeUrl}/mcp/${target.slug}`, {
      method: 'POST',
      headers: {
        ...MCP_HEADERS,
        authorization: `Bearer ${target.token}`,
        'mcp-protocol-version': '2025-06-18',
        ...(target.sessionId ? { 'mcp-session-id': target.sessionId } : {}),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message } } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let body: any = null;
    try {
      body = jsonRpcOf(response.headers.get('content-type'), text);
    } catch {
      return { ok: false, status: response.status, detail: `not JSON-RPC: ${text.slice(0, 200)}` };
    }
    const echoed = body?.result?.content?.[0]?.text === message && body.result.isError !== true;
    const dependency = typeof body?.error?.data?.dependency === 'string' ? { dependency: body.error.data.dependency as string } : {};
    return { ok: response.status === 200 && echoed, status: response.status, detail: echoed ? undefined : JSON.stringify(body?.error ?? body).slice(0, 300), ...dependency, body };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, status: 'network', detail: cause?.code ?? cause?.message ?? (error as Error).name ?? String(error) };
  }
}

export interface LoadOptions {
  edges: string[];
  targets: Target[];
  /** Calls started per second (open loop: the schedule does not wait for answers). */
  ratePerSecond: number;
  /** Per-attempt timeout. */
  attemptTimeoutMs?: number;
  /** How long a failed call is retried (backoff 250 ms doubling to 4 s, with jitter) before it counts as lost. */
  retryForMs?: number;
}

/**
 * Steady load from plain HTTP JSON-RPC clients, round-robin over the edges and
 * over the targets. Like a load balancer, a connection refused by an edge (the
 * request never left) marks that edge down for a second and the attempt goes
 * to the next edge at once; anything else that fails is a failed attempt of
 * that edge (a request in flight on a killed edge, a 503 ...) and the call is
 * retried with backoff, as a patient agent would.
 */
export class LoadGenerator {
  readonly calls: Call[] = [];
  readonly rerouted: number[];
  private readonly downUntil: number[];
  private running = false;
  private aborted = false;
  private loop: Promise<void> | null = null;
  private readonly pending = new Set<Promise<void>>();
  private next = 0;
  readonly t0 = Date.now();

  constructor(private readonly options: LoadOptions) {
    this.rerouted = options.edges.map(() => 0);
    this.downUntil = options.edges.map(() => 0);
  }

  start(): void {
    this.running = true;
    this.loop = this.schedule();
  }

  /** Stops at once: no new call, no further retry (for a test that failed midway). */
  abort(): void {
    this.running = false;
    this.aborted = true;
  }

  /** Stops starting calls and waits for every call (with its retries) to finish. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async schedule(): Promise<void> {
    const interval = 1000 / this.options.ratePerSecond;
    let due = Date.now();
    while (this.running) {
      // Every edge gets every target in turn: edge = n mod edges, target = (n div edges) mod targets.
      const edge = this.next % this.options.edges.length;
      const target = this.options.targets[Math.floor(this.next / this.options.edges.length) % this.options.targets.length]!;
      this.next += 1;
      const work = this.call(target, edge).finally(() => this.pending.delete(work));
      this.pending.add(work);
      due += interval;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }

  private pickEdge(preferred: number): number {
    const now = Date.now();
    for (let i = 0; i < this.options.edges.length; i++) {
      const edge = (preferred + i) % this.options.edges.length;
      if (this.downUntil[edge]! <= now) return edge;
    }
    return preferred;
  }

  private async call(target: Target, preferredEdge: number): Promise<void> {
    const call: Call = { kind: target.kind, startedAt: Date.now(), attempts: [], succeededAt: null };
    this.calls.push(call);
    const giveUpAt = call.startedAt + (this.options.retryForMs ?? 30_000);
    let backoff = 250;
    let edge = this.pickEdge(preferredEdge);
    for (let reroutes = 0; ; ) {
      const startedAt = Date.now();
      const outcome = await callEcho(this.options.edges[edge]!, target, this.options.attemptTimeoutMs ?? 10_000);
      if (outcome.status === 'network' && outcome.detail === 'ECONNREFUSED' && reroutes < this.options.edges.length) {
        // Nothing was sent: a balancer takes the edge out and sends the request elsewhere.
        this.downUntil[edge] = Date.now() + 1000;
        this.rerouted[edge]! += 1;
        reroutes += 1;
        edge = this.pickEdge(edge + 1);
        continue;
      }
      call.attempts.push({
        edge,
        startedAt,
        endedAt: Date.now(),
        ok: outcome.ok,
        status: outcome.status,
        ...(outcome.detail ? { detail: outcome.detail } : {}),
        ...(outcome.dependency ? { dependency: outcome.dependency } : {}),
      });
      if (outcome.ok) {
        call.succeededAt = Date.now();
        return;
      }
      if (this.aborted || Date.now() + backoff > giveUpAt) return;
      await sleep(backoff / 2 + Math.random() * backoff);
      backoff = Math.min(backoff * 2, 4000);
      reroutes = 0;
      edge = this.pickEdge(edge + 1);
    }
  }
}

export interface CallFigures {
  /** Logical calls started. */
  calls: number;
  /** Calls whose first attempt failed. */
  failed: number;
  /** Failed calls that a retry made succeed. */
  recovered: number;
  /** Calls that never succeeded. */
  lost: number;
  /** HTTP attempts made, and how many failed, by edge (index 0 = edge #1). */
  attemptsByEdge: number[];
  failedAttemptsByEdge: number[];
  /** Connection refused by a dead edge and sent to the other one (never reached any edge). */
  reroutedByEdge: number[];
  /** Failed attempts by HTTP status or `network:<code>`. */
  failuresByStatus: Record<string, number>;
  /** Longest time from a call's first failed attempt to its success. */
  maxTimeToRecoverMs: number;
  /** Successful HTTP attempts (each is one tool call at the upstream, so one audit event). */
  successfulAttempts: number;
  /** When failed attempts happened, in ms from the load's start: the first one's start and the last one's end (null when none failed). */
  failureWindowMs: { firstStart: number; lastEnd: number } | null;
  /** Latency of the successful attempts. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** The first 30 failed attempts: [start ms from the load's start, duration ms, edge index, status]. */
  failedAttemptsSample: [number, number, number, string][];
}

/** Figures for the calls of one kind (or all), optionally those started in [from, to). */
export function figuresOf(load: LoadGenerator, edges: number, filter: (call: Call) => boolean = () => true): CallFigures {
  const calls = load.calls.filter(filter);
  const attempts = calls.flatMap((call) => call.attempts);
  const failuresByStatus: Record<string, number> = {};
  const failedAttempts = attempts.filter((a) => !a.ok);
  for (const attempt of failedAttempts) {
    const key = attempt.status === 'network' ? `network:${attempt.detail}` : attempt.dependency ? `${attempt.status}:${attempt.dependency}` : String(attempt.status);
    failuresByStatus[key] = (failuresByStatus[key] ?? 0) + 1;
  }
  const failed = calls.filter((call) => call.attempts[0] && !call.attempts[0].ok);
  const recovered = failed.filter((call) => call.succeededAt !== null);
  const byEdge = (list: Attempt[]) => Array.from({ length: edges }, (_, edge) => list.filter((a) => a.edge === edge).length);
  return {
    calls: calls.length,
    failed: failed.length,
    recovered: recovered.length,
    lost: calls.filter((call) => call.succeededAt === null).length,
    attemptsByEdge: byEdge(attempts),
    failedAttemptsByEdge: byEdge(attempts.filter((a) => !a.ok)),
    reroutedByEdge: load.rerouted.slice(),
    failuresByStatus,
    maxTimeToRecoverMs: Math.max(0, ...recovered.map((call) => call.succeededAt! - call.attempts[0]!.startedAt)),
    successfulAttempts: attempts.filter((a) => a.ok).length,
    latencyMs: percentiles(attempts.filter((a) => a.ok).map((a) => a.endedAt - a.startedAt)),
    failedAttemptsSample: failedAttempts
      .sort((a, b) => a.startedAt - b.startedAt)
      .slice(0, 30)
      .map((a) => [a.startedAt - load.t0, a.endedAt - a.startedAt, a.edge, a.status === 'network' ? `network:${a.detail}` : a.dependency ? `${a.status}:${a.dependency}` : String(a.status)]),
    failureWindowMs: failedAttempts.length === 0 ? null : { firstStart: Math.min(...failedAttempts.map((a) => a.startedAt)) - load.t0, lastEnd: Math.max(...failedAttempts.map((a) => a.endedAt)) - load.t0 },
  };
}

function percentiles(values: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}
