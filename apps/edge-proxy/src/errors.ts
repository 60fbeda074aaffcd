/**
 * JSON-RPC error codes the edge answers with. The standard ones, plus one
 * implementation-defined server error (JSON-RPC reserves -32000..-32099) for
 * requests the gateway itself refuses before any upstream sees them. Clients
 * branch on `error.data.code` (the stable {@link EdgeError.code}), not on the
 * message. -32001 and -32042 are kept for consent (DESIGN §6).
 */
export const JsonRpcErrorCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  internalError: -32603,
  gatewayRefused: -32000,
} as const;

const MAX_SLUG_IN_MESSAGE = 100;

/** Base of every error the edge answers with; `code` is stable, match on it rather than on the message. */
export abstract class EdgeError extends Error {
  abstract readonly code: string;
  abstract readonly httpStatus: number;
  abstract readonly jsonRpcCode: number;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The body was not JSON. */
export class InvalidJsonError extends EdgeError {
  readonly code = 'parse_error';
  readonly httpStatus = 400;
  readonly jsonRpcCode = JsonRpcErrorCodes.parseError;

  constructor(options?: { cause?: unknown }) {
    super('Parse error: the request body is not valid JSON', options);
  }
}

/** The body was JSON but not a JSON-RPC message (or batch of them). */
export class InvalidMessageError extends EdgeError {
  readonly code = 'invalid_request';
  readonly httpStatus = 400;
  readonly jsonRpcCode = JsonRpcErrorCodes.invalidRequest;
}

export class PayloadTooLargeError extends EdgeError {
  readonly code = 'payload_too_large';
  readonly httpStatus = 413;
  readonly jsonRpcCode = JsonRpcErrorCodes.invalidRequest;

  constructor(limitBytes: number, options?: { cause?: unknown }) {
    super(`Request body exceeds the limit of ${limitBytes} bytes`, options);
  }
}

/** No bearer token, or one the identity service does not accept. Answered with a 401 challenge (DESIGN §7). */
export class UnauthenticatedError extends EdgeError {
  readonly code = 'unauthenticated';
  readonly httpStatus = 401;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;

  constructor(
    /** Whether a bearer token was presented (the challenge then says `error="invalid_token"`). */
    readonly tokenPresented: boolean,
    options?: { cause?: unknown },
  ) {
    super(tokenPresented ? 'Unauthorized: the bearer token is invalid or expired' : 'Unauthorized: a bearer token is required', options);
  }
}

/** A known principal without any role on the target (DESIGN §7: 403). */
export class AccessDeniedError extends EdgeError {
  readonly code = 'forbidden';
  readonly httpStatus = 403;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;
  constructor(slug: string) {
    super(`Forbidden: this principal has no access to MCP server '${shorten(slug)}'`);
  }
}

export class UnknownServerError extends EdgeError {
  readonly code = 'unknown_server';
  readonly httpStatus = 404;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;

  constructor(slug: string, options?: { cause?: unknown }) {
    super(`Unknown MCP server '${shorten(slug)}'`, options);
  }
}

/** A bus service the edge needs (identity, registry, token-vault) did not answer. Fails closed. */
export class DependencyUnavailableError extends EdgeError {
  readonly code = 'dependency_unavailable';
  readonly httpStatus = 503;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(service: string, options?: { cause?: unknown }) {
    super(`The gateway's ${service} service is unavailable; try again later`, options);
  }
}

/** The vault has no usable credential for this upstream. */
export class CredentialUnavailableError extends EdgeError {
  readonly code = 'credential_unavailable';
  readonly httpStatus = 502;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(slug: string, options?: { cause?: unknown }) {
    super(`No credential is available for upstream MCP server '${shorten(slug)}'`, options);
  }
}

export class UnsupportedTransportError extends EdgeError {
  readonly code = 'unsupported_transport';
  readonly httpStatus = 502;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(slug: string, transport: string) {
    super(`Upstream MCP server '${shorten(slug)}' uses the ${transport} transport, which this gateway does not proxy yet`);
  }
}

export class UpstreamUnreachableError extends EdgeError {
  readonly code = 'upstream_unreachable';
  readonly httpStatus = 502;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(slug: string, options?: { cause?: unknown }) {
    super(`upstream MCP server '${shorten(slug)}' is unreachable`, options);
  }
}

export class UpstreamTimeoutError extends EdgeError {
  readonly code = 'upstream_timeout';
  readonly httpStatus = 504;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(slug: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`upstream MCP server '${shorten(slug)}' did not answer within ${timeoutMs} ms`, options);
  }
}

/**
 * The upstream refused the credential the gateway injected (401/403). Not
 * passed through: the agent's own token is fine, and an upstream challenge
 * would send it to authenticate against the wrong server.
 */
export class UpstreamRejectedCredentialError extends EdgeError {
  readonly code = 'upstream_rejected_credential';
  readonly httpStatus = 502;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(slug: string, upstreamStatus: number) {
    super(`upstream MCP server '${shorten(slug)}' rejected the gateway's credential (HTTP ${upstreamStatus})`);
  }
}

export class UpstreamProtocolError extends EdgeError {
  readonly code = 'upstream_protocol_error';
  readonly httpStatus = 502;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(slug: string, detail: string) {
    super(`upstream MCP server '${shorten(slug)}' answered unexpectedly (${detail})`);
  }
}

function shorten(slug: string): string {
  return slug.length > MAX_SLUG_IN_MESSAGE ? `${slug.slice(0, MAX_SLUG_IN_MESSAGE)}…` : slug;
}

/** The agent went away before the upstream answered; nothing can be written back. */
export class ClientDisconnectedError extends EdgeError {
  readonly code = 'client_disconnected';
  // nginx's "client closed request": never seen by the client, only in logs and metrics.
  readonly httpStatus = 499;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(options?: { cause?: unknown }) {
    super('The client closed the connection before the upstream answered', options);
  }
}

/** SSRF guard at connect time: the upstream's host is, or now resolves to, a private, loopback or link-local address. */
export class UpstreamAddressRefusedError extends EdgeError {
  readonly code = 'upstream_address_refused';
  readonly httpStatus = 502;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(slug: string, options?: { cause?: unknown }) {
    super(`upstream MCP server '${shorten(slug)}' resolves to a private, loopback or link-local address, which this gateway refuses (OUTBOUND_ALLOW_PRIVATE)`, options);
  }
}
