import { isIP } from 'node:net';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { isPrivateAddress, isPrivateAddressRefusal, privateAddressRefusingLookup } from '@portcullis/contracts';
import { Agent } from 'undici';
import { OAUTH_OPTIONS, type OAuthOptions } from '../oauth.options';

/** Largest authorization-server answer read; token responses are a few KB. */
const MAX_RESPONSE_BYTES = 256 * 1024;

export interface FormResponse {
  status: number;
  /** The parsed JSON body, or null when it was not a JSON object. */
  json: Record<string, unknown> | null;
}

export interface JsonResponse extends FormResponse {
  wwwAuthenticate: string | null;
}

/** The request never got an answer: refused address, DNS, connect or read timeout, reset, oversized body. */
export class OAuthTransportError extends Error {
  constructor(
    readonly reason: 'private_address' | 'insecure_transport' | 'timeout' | 'unreachable' | 'too_large',
    options?: { cause?: unknown },
  ) {
    super(`authorization server request failed: ${reason}`, options);
    this.name = 'OAuthTransportError';
  }
}

/**
 * The vault's only way out to authorization servers (and to upstream MCP
 * servers, for discovery): a timeout on every request, redirects never
 * followed (a 3xx is just a status), private addresses and plain http
 * refused unless allowed, bodies capped.
 */
@Injectable()
export class OAuthHttpClient implements OnModuleDestroy {
  private readonly agent: Agent;
  private readonly allowPrivate: boolean;
  private readonly timeoutMs: number;

  constructor(@Inject(OAUTH_OPTIONS) options: OAuthOptions) {
    this.allowPrivate = options.outboundAllowPrivate;
    this.timeoutMs = options.httpTimeoutMs;
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      connect: { timeout: options.httpTimeoutMs, ...(!this.allowPrivate && { lookup: privateAddressRefusingLookup }) },
    });
  }

  async postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<FormResponse> {
    const { status, json } = await this.send('POST', url, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
      body: new URLSearchParams(form).toString(),
    });
    return { status, json };
  }

  /** GET or POST with a JSON body; also answers the response headers (discovery reads `WWW-Authenticate`). */
  async exchangeJson(method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
    return this.send(method, url, {
      headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  }

  private async send(method: 'GET' | 'POST', url: string, request: { headers: Record<string, string>; body?: string }): Promise<JsonResponse> {
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new OAuthTransportError('unreachable');
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!this.allowPrivate && isIP(host) && isPrivateAddress(host)) throw new OAuthTransportError('private_address');
    // Codes, verifiers, client secrets and tokens never travel in clear: plain http only where private addresses are
    // allowed too (a development or loopback deployment), whatever an admin or a discovered document says.
    if (target.protocol === 'http:' && !this.allowPrivate) throw new OAuthTransportError('insecure_transport');
    try {
      const response = await this.agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method,
        headers: request.headers,
        body: request.body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      let text = '';
      for await (const chunk of response.body) {
        text += (chunk as Buffer).toString('utf8');
        if (text.length > MAX_RESPONSE_BYTES) {
          response.body.destroy();
          throw new OAuthTransportError('too_large');
        }
      }
      const wwwAuthenticate = response.headers['www-authenticate'];
      return { status: response.statusCode, json: parseObject(text), wwwAuthenticate: Array.isArray(wwwAuthenticate) ? wwwAuthenticate.join(', ') : (wwwAuthenticate ?? null) };
    } catch (error) {
      if (error instanceof OAuthTransportError) throw error;
      if (isPrivateAddressRefusal(error)) throw new OAuthTransportError('private_address', { cause: error });
      const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
      if (typeof code === 'string' && /TIMEOUT/.test(code)) throw new OAuthTransportError('timeout', { cause: error });
      throw new OAuthTransportError('unreachable', { cause: error });
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
