import { InvalidJsonError, InvalidMessageError } from '../errors';

export type JsonRpcId = string | number;

/** One JSON-RPC request (a message with a method and an id) of a client's POST body. */
export interface JsonRpcCall {
  id: JsonRpcId;
  method: string;
  /** `params.name` of a `tools/call`, else null. */
  tool: string | null;
}

export interface JsonRpcBody {
  /** The requests in the body; notifications and responses to server requests are not listed. */
  calls: JsonRpcCall[];
  /** Whether an `initialize` request in the body declared URL elicitation (`capabilities.elicitation.url`, MCP 2025-11-25). */
  urlElicitation: boolean;
  /** The `protocolVersion` an `initialize` request in the body asked for, else null. */
  protocolVersion: string | null;
}

/** Audit field limits (AuditEventSchema). */
const MAX_METHOD_LENGTH = 200;
const MAX_TOOL_LENGTH = 500;

/**
 * Reads a POST body as JSON-RPC: one message or (protocol 2025-03-26) a batch.
 * Only the shape the edge needs is checked; the upstream judges the rest.
 * @throws InvalidJsonError when the body is not JSON; InvalidMessageError when it is not a message or batch.
 */
export function parseJsonRpcBody(raw: unknown): JsonRpcBody {
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : '');
  } catch (error) {
    throw new InvalidJsonError({ cause: error });
  }
  const messages: unknown[] = Array.isArray(value) ? value : [value];
  if (messages.length === 0) throw notAMessage();
  // One pass with no callbacks: this runs on every call.
  const body: JsonRpcBody = { calls: [], urlElicitation: false, protocolVersion: null };
  for (const message of messages) {
    if (!isObject(message)) throw notAMessage();
    const call = callOf(message);
    if (call !== null) body.calls.push(call);
    if (message['method'] !== 'initialize') continue;
    body.urlElicitation ||= declaresUrlElicitation(message);
    body.protocolVersion ??= requestedProtocolVersion(message);
  }
  return body;
}

function notAMessage(): InvalidMessageError {
  return new InvalidMessageError('Invalid Request: the body must be a JSON-RPC message object or a non-empty array of them');
}

const MAX_PROTOCOL_VERSION_LENGTH = 64;

/** The `params.protocolVersion` of an `initialize` request (bounded: it is sealed into the session id), else null. */
function requestedProtocolVersion(message: Record<string, unknown>): string | null {
  if (message['method'] !== 'initialize' || !isObject(message['params'])) return null;
  const version = message['params']['protocolVersion'];
  return typeof version === 'string' && version.length <= MAX_PROTOCOL_VERSION_LENGTH ? version : null;
}

/** Whether `message` is an `initialize` request whose client capabilities include URL elicitation. */
function declaresUrlElicitation(message: Record<string, unknown>): boolean {
  if (message['method'] !== 'initialize' || !isObject(message['params'])) return false;
  const capabilities = message['params']['capabilities'];
  const elicitation = isObject(capabilities) ? capabilities['elicitation'] : undefined;
  return isObject(elicitation) && isObject(elicitation['url']);
}

/** The id to answer an error with: the request's own when the body is a single request, else null (JSON-RPC §5). */
export function jsonRpcIdOf(raw: unknown): JsonRpcId | null {
  if (typeof raw !== 'string') return null;
  try {
    const value: unknown = JSON.parse(raw);
    return isObject(value) && isId(value['id']) ? value['id'] : null;
  } catch {
    return null;
  }
}

function callOf(message: Record<string, unknown>): JsonRpcCall | null {
  const { id, method, params } = message;
  if (!isId(id) || typeof method !== 'string') return null;
  const name = method === 'tools/call' && isObject(params) ? params['name'] : undefined;
  return {
    id,
    method: method.slice(0, MAX_METHOD_LENGTH),
    tool: typeof name === 'string' ? name.slice(0, MAX_TOOL_LENGTH) : null,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}
