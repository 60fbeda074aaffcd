import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { ApiErrorBody } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from './edge-proxy.options';
import { DependencyUnavailableError, EdgeError, InsufficientScopeError, InvalidMessageError, InvalidRequestError, JsonRpcErrorCodes, JsonRpcErrorObject, PayloadTooLargeError, UnauthenticatedError } from './errors';
import { jsonRpcIdOf } from './mcp/json-rpc';
import type { HttpAnswer } from './mcp/mcp-http';
import { PublicUrls } from './public-urls';

interface Problem {
  status: number;
  code: string;
  message: string;
  jsonRpc: JsonRpcErrorObject;
  headers: Record<string, string>;
  /** Each offending field of a validation failure (REST body only). */
  issues?: readonly { path: string; message: string }[];
}

/** Seconds a client is asked to wait after a 503 for a gateway service that did not answer: about a replica restart. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

const HTTP_CODES: Record<number, string> = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/**
 * Once an answer has started (or was taken over from Fastify) its status is
 * gone; all that is left for a failure is to cut the connection. True when it did.
 */
function cutStartedAnswer(reply: Pick<HttpAnswer, 'sent' | 'raw'>): boolean {
  if (!reply.sent && !reply.raw.headersSent && !reply.raw.destroyed) return false;
  if (!reply.raw.writableEnded) reply.raw.destroy();
  return true;
}

/**
 * Answers every failure of the edge. On `/mcp/*` the body is a JSON-RPC error
 * (with the request's id when there is one) so MCP clients can read it; on
 * other routes it is the REST error body. A 401 carries the RFC 9728 challenge.
 */
@Catch()
export class EdgeProxyExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly urls: PublicUrls,
    @Inject(EDGE_PROXY_OPTIONS) private readonly options: EdgeProxyModuleOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const slug = (request.params as { slug?: unknown } | undefined)?.slug;
    this.answer(exception, request, typeof slug === 'string' ? slug : null, http.getResponse<FastifyReply>());
  }

  /** Answers `exception` on `reply` (Fastify's, or the MCP front door's); `slug` names the MCP server for a 401's resource metadata. */
  answer(exception: unknown, request: { url?: string; method: string; body?: unknown }, slug: string | null, reply: HttpAnswer): void {
    if (cutStartedAnswer(reply)) return;
    const problem = this.problemOf(exception, request.url ?? '', slug ?? '');
    if (problem.status >= 500) this.logger.warn({ err: exception, code: problem.code, status: problem.status }, problem.message);

    const path = (request.url ?? '').split('?')[0];
    const body = path.startsWith('/mcp/')
      ? { jsonrpc: '2.0', id: jsonRpcIdOf(request.body), error: problem.jsonRpc }
      : ({ error: { code: problem.code, message: problem.message, ...(problem.issues?.length ? { issues: [...problem.issues] } : {}) } } satisfies ApiErrorBody);
    // A user-action answer (consent, a value to set) is a JSON-RPC error with HTTP 200 only for a POSTed request: a GET event
    // stream or a DELETE answered 200 would look like success to the client, so those get 403 with the same body.
    const status = problem.status === 200 && request.method !== 'POST' ? 403 : problem.status;
    void reply.status(status).headers(problem.headers).type('application/json').send(JSON.stringify(body));
  }

  private problemOf(exception: unknown, url: string, slug: string): Problem {
    const error = this.edgeErrorOf(exception);
    if (error) {
      const headers: Record<string, string> = {};
      if (error instanceof UnauthenticatedError) headers['www-authenticate'] = this.challenge(url, slug, error);
      if (error instanceof InsufficientScopeError) headers['www-authenticate'] = this.insufficientScopeChallenge(slug, error);
      // RFC 9110 §10.2.3: tells clients when to try again instead of at once, so an outage does not turn into a retry storm.
      if (error instanceof DependencyUnavailableError) headers['retry-after'] = String(DEPENDENCY_RETRY_AFTER_SECONDS);
      const issues = error instanceof InvalidRequestError ? error.issues : undefined;
      return { status: error.httpStatus, code: error.code, message: error.message, jsonRpc: error.jsonRpcError(), headers, issues };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = HTTP_CODES[status] ?? `http_${status}`;
      return { status, code, message: exception.message, jsonRpc: { code: JsonRpcErrorCodes.invalidRequest, message: exception.message, data: { code } }, headers: {} };
    }
    this.logger.error({ err: exception }, 'unhandled error in edge-proxy');
    const message = 'Internal error';
    return { status: 500, code: 'internal', message, jsonRpc: { code: JsonRpcErrorCodes.internalError, message, data: { code: 'internal' } }, headers: {} };
  }

  /** Fastify's own request errors (body limit, bad framing) become edge errors. */
  private edgeErrorOf(exception: unknown): EdgeError | null {
    if (exception instanceof EdgeError) return exception;
    const { code, statusCode } = (exception ?? {}) as { code?: unknown; statusCode?: unknown };
    if (typeof code !== 'string' || !code.startsWith('FST_')) return null;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new PayloadTooLargeError(this.options.maxRequestBytes, { cause: exception });
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return new InvalidMessageError('Invalid Request: the request body could not be read', { cause: exception });
    }
    return null;
  }

  /** RFC 6750 §3 / RFC 9728 §5.1 challenge; `error` only when a token was presented. Only `/mcp/{slug}` has resource metadata. */
  private challenge(url: string, slug: string, error: UnauthenticatedError): string {
    if (!url.startsWith('/mcp/')) return error.tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer';
    const metadata = this.urls.resourceMetadata(slug);
    // Scope-tokens hold no `"` or `\` (RFC 6749 §3.3, checked by the registry), so they sit in a quoted-string as they are.
    const scope = error.requiredScopes.length > 0 ? `, scope="${error.requiredScopes.join(' ')}"` : '';
    return error.tokenPresented ? `Bearer resource_metadata="${metadata}", error="invalid_token"${scope}` : `Bearer resource_metadata="${metadata}"${scope}`;
  }

  /** RFC 6750 §3.1 with every scope the target requires (MCP scope selection: the client asks for all of them). */
  private insufficientScopeChallenge(slug: string, error: InsufficientScopeError): string {
    const metadata = this.urls.resourceMetadata(slug);
    const description = 'The access token lacks a scope this MCP server requires';
    return `Bearer error="insufficient_scope", scope="${error.requiredScopes.join(' ')}", resource_metadata="${metadata}", error_description="${description}"`;
  }
}
