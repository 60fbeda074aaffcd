import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { InvalidMessageError, PayloadTooLargeError } from '../errors';

/** A request to `/mcp/{slug}` as the MCP code sees it: the body is the text it arrived as (POST only). */
export interface McpHttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string | undefined;
}

/**
 * What an answer is written through: Fastify's reply on the REST routes, {@link McpHttpReply} on `/mcp/{slug}`.
 * The same few calls, so the exception filter answers both.
 */
export interface HttpAnswer {
  readonly sent: boolean;
  readonly raw: ServerResponse;
  status(code: number): HttpAnswer;
  header(name: string, value: string): HttpAnswer;
  headers(values: Record<string, string>): HttpAnswer;
  type(contentType: string): HttpAnswer;
  send(body?: string): unknown;
}

/**
 * The answer to a request on `/mcp/{slug}`, written straight to Node's
 * response: the calls the MCP code makes of a Fastify reply (status, header,
 * type, send, hijack to stream itself), with the framing Fastify gave them
 * (`charset=utf-8` on a JSON or text type, `content-length`).
 */
export class McpHttpReply implements HttpAnswer {
  private statusCode = 200;
  private readonly pending: Record<string, string> = {};
  private taken = false;

  constructor(readonly raw: ServerResponse) {}

  /** True once the answer was sent or taken over ({@link hijack}): nothing more may be set on it. */
  get sent(): boolean {
    return this.taken || this.raw.headersSent || this.raw.writableEnded;
  }

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  header(name: string, value: string): this {
    this.pending[name.toLowerCase()] = value;
    return this;
  }

  headers(values: Record<string, string>): this {
    for (const name in values) this.header(name, values[name]!);
    return this;
  }

  type(contentType: string): this {
    const textual = /json|^text\//i.test(contentType) && !/charset=/i.test(contentType);
    return this.header('content-type', textual ? `${contentType}; charset=utf-8` : contentType);
  }

  send(body?: string): void {
    if (this.sent) return;
    this.taken = true;
    const headers = this.pending;
    // As Fastify: a body (even an empty one) has its length, except where HTTP forbids a body.
    if (this.statusCode !== 204 && this.statusCode !== 304) headers['content-length'] = String(body === undefined ? 0 : Buffer.byteLength(body));
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'text/plain; charset=utf-8';
    this.raw.writeHead(this.statusCode, headers);
    this.raw.end(body);
  }

  /** The caller writes to {@link raw} itself (a streamed answer). */
  hijack(): void {
    this.taken = true;
  }
}

/**
 * Reads a request body as UTF-8 text, refusing more than `limitBytes` (413)
 * as soon as the declared length or the bytes received exceed it, and a body
 * shorter or longer than its declared length (400).
 */
export function readRequestBody(request: IncomingMessage, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = request.headers['content-length'];
    const expected = declared === undefined ? null : Number(declared);
    if (expected !== null && !(Number.isSafeInteger(expected) && expected >= 0)) return reject(unreadable());
    if (expected !== null && expected > limitBytes) return reject(new PayloadTooLargeError(limitBytes));
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    // Listeners stay on (the request is dropped with them) and settle once: no `once` wrappers, no removals per call.
    // The rest of a refused body is left unread: its answer closes the connection (as Fastify does), since the client may send more.
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > limitBytes) return fail(new PayloadTooLargeError(limitBytes));
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (settled) return;
      if (expected !== null && received !== expected) return fail(unreadable());
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8'));
    });
    request.on('error', (error: Error) => fail(unreadable(error)));
  });
}

function unreadable(cause?: unknown): InvalidMessageError {
  return new InvalidMessageError('Invalid Request: the request body could not be read', { cause });
}
