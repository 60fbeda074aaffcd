import { Transform, TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AccessDecision, isToolVisible, roleRank } from '@portcullis/contracts';
import type { JsonRpcCall, JsonRpcId } from './json-rpc';

/** JSON-RPC "Invalid params": what an MCP server answers for a tool it does not have (DESIGN §7). */
export const UNKNOWN_TOOL_CODE = -32602;
/** Largest upstream `tools/list` answer (JSON body, or one SSE event) the edge will rewrite. */
export const MAX_FILTERED_BYTES = 16 * 1024 * 1024;

export interface RefusedCall {
  call: JsonRpcCall;
  reason: string;
}

/**
 * The `tools/call` requests of a body the decision refuses: a tool that is
 * hidden, disabled or denied, or any tool for a principal below the `user`
 * role. A call without a tool name is left to the upstream to refuse.
 */
export function refusedToolCalls(calls: readonly JsonRpcCall[], decision: AccessDecision): RefusedCall[] {
  return calls.flatMap((call) => {
    if (call.method !== 'tools/call' || call.tool === null) return [];
    if (roleRank(decision.role) < roleRank('user')) return [{ call, reason: `role ${decision.role ?? 'none'} may not call tools` }];
    if (!isToolVisible(decision, call.tool)) return [{ call, reason: 'tool hidden, disabled or denied by policy' }];
    return [];
  });
}

/**
 * The edge's own answer to a body with refused calls: each refused call
 * answered like an unknown tool, so a hidden tool's existence does not leak;
 * the other requests of a batch refused with it (the batch is not forwarded).
 */
export function refusalBody(calls: readonly JsonRpcCall[], refused: readonly RefusedCall[], batch: boolean): string {
  const refusedIds = new Set<JsonRpcId>(refused.map((r) => r.call.id));
  const answers = calls.map((call) =>
    refusedIds.has(call.id)
      ? { jsonrpc: '2.0', id: call.id, error: { code: UNKNOWN_TOOL_CODE, message: `Unknown tool: ${call.tool ?? ''}` } }
      : { jsonrpc: '2.0', id: call.id, error: { code: -32000, message: 'Not forwarded: the batch contains a call this principal may not make' } },
  );
  return JSON.stringify(batch ? answers : answers[0]);
}

/** Whether `tools/list` answers need rewriting for this decision (an unrestricted one streams untouched). */
export function needsToolFiltering(decision: AccessDecision): boolean {
  return decision.hiddenTools.length > 0 || decision.toolRules.length > 0 || Object.keys(decision.descriptions).length > 0;
}

/** Filters the tools of one JSON-RPC message if it answers one of `listIds`; anything else is returned as is. */
export function filterToolsListMessage(message: unknown, listIds: ReadonlySet<JsonRpcId>, decision: AccessDecision): unknown {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return message;
  const { id, result } = message as { id?: unknown; result?: unknown };
  if ((typeof id !== 'string' && typeof id !== 'number') || !listIds.has(id)) return message;
  if (typeof result !== 'object' || result === null || !Array.isArray((result as { tools?: unknown }).tools)) return message;
  const tools = ((result as { tools: unknown[] }).tools as { name?: unknown; description?: unknown }[])
    .filter((tool) => typeof tool === 'object' && tool !== null && typeof tool.name === 'string' && isToolVisible(decision, tool.name))
    .map((tool) => {
      const description = decision.descriptions[tool.name as string];
      return description === undefined ? tool : { ...tool, description };
    });
  return { ...(message as object), result: { ...(result as object), tools } };
}

/** Rewrites a JSON response body (one message or a batch). A body that is not JSON is refused: it cannot be checked. */
export function filterJsonBody(body: string, listIds: ReadonlySet<JsonRpcId>, decision: AccessDecision): string {
  const value: unknown = JSON.parse(body);
  return JSON.stringify(Array.isArray(value) ? value.map((m) => filterToolsListMessage(m, listIds, decision)) : filterToolsListMessage(value, listIds, decision));
}

/** Rewrites one server-sent event if its data is a `tools/list` answer; every other event passes byte for byte. */
export function filterSseEvent(event: string, listIds: ReadonlySet<JsonRpcId>, decision: AccessDecision): string {
  const lines = event.split(/\r?\n/);
  const dataLines = lines.filter((line) => line.startsWith('data:'));
  if (dataLines.length === 0) return event;
  const data = dataLines.map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return event;
  }
  const filtered = filterToolsListMessage(message, listIds, decision);
  if (filtered === message) return event;
  const others = lines.filter((line) => !line.startsWith('data:'));
  return [...others, `data: ${JSON.stringify(filtered)}`].join('\n');
}

/**
 * A stream transform applying {@link filterSseEvent} to each event as it
 * arrives (events keep streaming), or {@link filterJsonBody} to a whole JSON
 * body. Fails the stream (never passes the unfiltered answer) when the input
 * is too large or unreadable.
 */
export class ToolsListFilter extends Transform {
  private buffer = '';
  // Chunks may split a multi-byte character; the decoder holds the partial bytes back.
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly mode: 'json' | 'sse',
    private readonly listIds: ReadonlySet<JsonRpcId>,
    private readonly decision: AccessDecision,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.buffer += this.decoder.write(chunk);
    if (this.mode === 'sse') {
      const events = this.buffer.split(/(\r?\n\r?\n)/);
      // The last piece is an incomplete event; the separators sit at odd positions.
      this.buffer = events.pop() ?? '';
      let out = '';
      for (let i = 0; i < events.length; i += 2) out += filterSseEvent(events[i], this.listIds, this.decision) + (events[i + 1] ?? '');
      if (out) this.push(out);
    }
    if (this.buffer.length > MAX_FILTERED_BYTES) return done(new Error('tools/list answer too large to filter'));
    done();
  }

  override _flush(done: TransformCallback): void {
    this.buffer += this.decoder.end();
    try {
      if (this.mode === 'json') this.push(this.buffer.length === 0 ? '' : filterJsonBody(this.buffer, this.listIds, this.decision));
      else if (this.buffer) this.push(filterSseEvent(this.buffer, this.listIds, this.decision));
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}
