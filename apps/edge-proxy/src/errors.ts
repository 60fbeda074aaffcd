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
  /** Consent needed, for clients without URL elicitation: `data` is a string (DESIGN §6). */
  consentRequired: -32001,
  /** MCP 2025-11-25 URL elicitation required: `data.elicitations` (DESIGN §6). */
  urlElicitationRequired: -32042,
  /** An unknown session, as the MCP SDK's servers answer it (with HTTP 404, unlike consent's -32001 with HTTP 200). */
  sessionNotFound: -32001,
} as const;

/** The `error` member of a JSON-RPC answer. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data: unknown;
}

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

  /** How a JSON-RPC client sees this error; `data.code` is the stable code. */
  jsonRpcError(): JsonRpcErrorObject {
    return { code: this.jsonRpcCode, message: this.message, data: { code: this.code } };
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
    /** The scopes the target requires: the challenge's `scope`, so a client asks its authorization server for them. */
    readonly requiredScopes: readonly string[] = [],
  ) {
    super(tokenPresented ? 'Unauthorized: the bearer token is invalid or expired' : 'Unauthorized: a bearer token is required', options);
  }

  withRequiredScopes(requiredScopes: readonly string[]): UnauthenticatedError {
    return new UnauthenticatedError(this.tokenPresented, { cause: this.cause }, requiredScopes);
  }
}

/**
 * The token is valid but lacks a scope the target requires (RFC 6750 §3.1): HTTP 403 with an `insufficient_scope`
 * challenge naming every required scope, answered before anything is forwarded.
 */
export class InsufficientScopeError extends EdgeError {
  readonly code = 'insufficient_scope';
  readonly httpStatus = 403;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;

  constructor(
    slug: string,
    readonly requiredScopes: readonly string[],
    readonly missingScopes: readonly string[],
  ) {
    super(`Forbidden: the token lacks scope(s) MCP server '${shorten(slug)}' requires: ${missingScopes.join(' ')}`);
  }

  override jsonRpcError(): JsonRpcErrorObject {
    return { code: this.jsonRpcCode, message: this.message, data: { code: this.code, requiredScopes: [...this.requiredScopes], missingScopes: [...this.missingScopes] } };
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

/** The services behind the edge, as a 503 names them. */
export type GatewayDependency = 'identity' | 'registry' | 'token-vault';

/**
 * A bus service the edge needs (identity, registry, token-vault) did not
 * answer, and nothing cached could stand in. Fails closed with HTTP 503;
 * `data.dependency` names the service, so clients and operators can tell
 * which one without parsing the message.
 */
export class DependencyUnavailableError extends EdgeError {
  readonly code = 'dependency_unavailable';
  readonly httpStatus = 503;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(
    readonly dependency: GatewayDependency,
    options?: { cause?: unknown },
  ) {
    super(`The gateway's ${dependency} service is unavailable; try again later`, options);
  }

  override jsonRpcError(): JsonRpcErrorObject {
    return { code: this.jsonRpcCode, message: this.message, data: { code: this.code, dependency: this.dependency } };
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

/** One upstream the caller must consent to first, and where to do it (`{PUBLIC_URL}/connect/{flowId}`). */
export interface PendingConsent {
  slug: string;
  flowId: string;
  url: string;
}

/**
 * The user must consent at an upstream's provider first (DESIGN §6). Answered
 * with HTTP 200 and a JSON-RPC error: -32042 with `data.elicitations` when the
 * client declared URL elicitation, else -32001 with `data` a string. Either
 * way the message ends with `Please visit: <url1> , <url2>`.
 */
export class ConsentRequiredError extends EdgeError {
  readonly code = 'consent_required';
  readonly httpStatus = 200;

  constructor(
    readonly consents: readonly PendingConsent[],
    /** Whether the client declared URL elicitation (`capabilities.elicitation.url`) in its `initialize`. */
    readonly urlElicitation = false,
  ) {
    super(`Authorization required: connect your account for ${consents.map((c) => `'${shorten(c.slug)}'`).join(', ')}. Please visit: ${consents.map((c) => c.url).join(' , ')}`);
  }

  get jsonRpcCode(): number {
    return this.urlElicitation ? JsonRpcErrorCodes.urlElicitationRequired : JsonRpcErrorCodes.consentRequired;
  }

  /** The same consents, answered for a client that did (or did not) declare URL elicitation. */
  forClient(urlElicitation: boolean): ConsentRequiredError {
    return new ConsentRequiredError(this.consents, urlElicitation);
  }

  /** Several upstreams of one request: one elicitation each, the first seen first. */
  static merge(errors: readonly ConsentRequiredError[]): ConsentRequiredError {
    const bySlug = new Map<string, PendingConsent>();
    for (const consent of errors.flatMap((error) => error.consents)) if (!bySlug.has(consent.slug)) bySlug.set(consent.slug, consent);
    return new ConsentRequiredError([...bySlug.values()], errors.some((error) => error.urlElicitation));
  }

  override jsonRpcError(): JsonRpcErrorObject {
    if (!this.urlElicitation) return { code: this.jsonRpcCode, message: this.message, data: this.message };
    const elicitations = this.consents.map((consent) => ({
      mode: 'url' as const,
      // The flow id: unique per pending consent, and already part of the URL the user is shown.
      elicitationId: consent.flowId,
      url: consent.url,
      message: `Connect your account for '${shorten(consent.slug)}' to let the gateway call it on your behalf.`,
    }));
    return { code: this.jsonRpcCode, message: this.message, data: { elicitations } };
  }
}

/** A `per_user` header server for which this user has not set their own value(s) yet. Answered like consent (HTTP 200 on `/mcp`). */
export class UserValueRequiredError extends EdgeError {
  readonly code = 'user_value_required';
  readonly httpStatus = 200;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;

  constructor(
    slug: string,
    readonly variables: readonly string[],
    readonly url: string,
  ) {
    super(
      `MCP server '${shorten(slug)}' needs your own value for ${variables.join(', ')}: set it with PUT ${url} and a JSON body {"values": {${variables.map((v) => `"${v}": "…"`).join(', ')}}}, then retry`,
    );
  }

  override jsonRpcError(): JsonRpcErrorObject {
    return { code: this.jsonRpcCode, message: this.message, data: { code: this.code, variables: [...this.variables], url: this.url } };
  }
}

/**
 * A `passthrough` server forwards the caller's own identity-provider JWT. A
 * gateway API key, session or gateway-issued token is never forwarded, so
 * such a caller is refused.
 */
export class PassthroughRefusedError extends EdgeError {
  readonly code = 'passthrough_refused';
  readonly httpStatus = 403;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;

  constructor(slug: string) {
    super(
      `MCP server '${shorten(slug)}' receives the caller's own identity-provider token, and this request was not authenticated with one (gateway API keys and tokens are never forwarded): call it with a token from your identity provider`,
    );
  }
}

/** A `/me/*` request body or parameter failed validation; `issues` names each bad field. */
export class InvalidRequestError extends EdgeError {
  readonly code = 'invalid_request';
  readonly httpStatus = 400;
  readonly jsonRpcCode = JsonRpcErrorCodes.invalidRequest;

  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Token-vault refused a `/me/*` or consent request; its message names no secret. `httpStatus` follows the vault's reason. */
export class VaultRefusedError extends EdgeError {
  readonly code = 'vault_refused';
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;

  constructor(
    readonly httpStatus: 403 | 404 | 409,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A state-changing `/me/*` request authenticated only by the session cookie, sent from another site (CSRF). */
export class CrossOriginRequestError extends EdgeError {
  readonly code = 'cross_origin_request';
  readonly httpStatus = 403;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;

  constructor() {
    super('Forbidden: a change made with the browser session must come from the gateway’s own pages');
  }
}

/** `Host` or `Origin` is not one the gateway serves: a DNS-rebinding or cross-site request, refused before anything else. */
export class OriginNotAllowedError extends EdgeError {
  readonly code = 'origin_not_allowed';
  readonly httpStatus = 403;
  readonly jsonRpcCode = JsonRpcErrorCodes.gatewayRefused;
  constructor(header: 'Host' | 'Origin') {
    super(`Forbidden: this ${header} is not allowed (DNS rebinding and cross-site protection)`);
  }
}

/**
 * The `Mcp-Session-Id` does not open for this caller and target: unknown, tampered with, sealed under a key no longer
 * held, for another target, or another principal's. Answered like the MCP SDK answers an unknown session (HTTP 404,
 * -32001 "Session not found"), so clients start a new one; HTTP 404 tells it apart from consent's -32001 (HTTP 200).
 * Which check failed is never said.
 */
export class UnknownSessionError extends EdgeError {
  readonly code = 'unknown_session';
  readonly httpStatus = 404;
  readonly jsonRpcCode = JsonRpcErrorCodes.sessionNotFound;

  constructor(options?: { cause?: unknown }) {
    super('Session not found', options);
  }
}

/**
 * A legacy SSE upstream answered its event stream's GET or a POSTed message
 * with 401, 403 or 404. Internal: the proxy renews the credential (401),
 * answers UpstreamRejectedCredentialError (401/403) or opens a new
 * connection (404); it never reaches a client as is.
 */
export class LegacyUpstreamStatusError extends EdgeError {
  readonly code = 'upstream_status';
  readonly httpStatus = 502;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor(
    slug: string,
    readonly upstreamStatus: number,
  ) {
    super(`upstream MCP server '${shorten(slug)}' answered HTTP ${upstreamStatus}`);
  }
}

/** Every legacy SSE connection of this replica is busy: a new session is refused rather than a connection in use closed. */
export class UpstreamConnectionsExhaustedError extends EdgeError {
  readonly code = 'upstream_connections_exhausted';
  readonly httpStatus = 503;
  readonly jsonRpcCode = JsonRpcErrorCodes.internalError;

  constructor() {
    super('The gateway has too many open connections to legacy SSE servers right now; retry shortly');
  }
}

/** A second standalone event stream (GET) for a session that has one open, as the MCP SDK's servers answer it. */
export class StreamConflictError extends EdgeError {
  readonly code = 'stream_conflict';
  readonly httpStatus = 409;
  readonly jsonRpcCode = JsonRpcErrorCodes.invalidRequest;

  constructor() {
    super('Conflict: only one event stream (GET) is allowed per session');
  }
}
