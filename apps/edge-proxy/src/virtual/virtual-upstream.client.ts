import { Injectable } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ServerTarget } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { Inject } from '@nestjs/common';
import { UpstreamAddressRefusedError, UpstreamUnreachableError } from '../errors';
import { upstreamRequestHeaders } from '../mcp/forwarded-headers';
import { GuardedFetch, UpstreamClient } from '../mcp/upstream.client';

const MAX_LIST_PAGES = 50;
const CLIENT_INFO = { name: 'portcullis-gateway', version: '1.0.0' };

/**
 * Talks MCP to the upstreams of a virtual server as a client of its own (the
 * SDK's), with the caller's credential for that upstream injected: within the
 * upstream session opened for the client's session when there is one (its id
 * travels sealed in the client's session id), else in one short session per
 * use. Nothing of the agent's request is forwarded but the tool name and arguments.
 * A legacy HTTP+SSE upstream (MCP 2024-11-05) keeps its session only as long as
 * its event stream, so each use is a short session of its own over the SDK's
 * SSE client (which refuses a message endpoint on another origin).
 */
@Injectable()
export class VirtualUpstreamClient {
  constructor(
    private readonly upstream: UpstreamClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Opens a session on the upstream (its `initialize`) and leaves it open for
   * the calls of the client's session; null when the upstream keeps none.
   */
  async openSession(server: ServerTarget, credentialHeaders: Record<string, string>): Promise<string | null> {
    if (server.transport === 'sse') return null;
    const fetch = this.upstream.fetchFor(server);
    const transport = this.transport(server, credentialHeaders, fetch);
    const client = new Client(CLIENT_INFO);
    try {
      await client.connect(transport, { timeout: server.timeoutMs });
      return transport.sessionId ?? null;
    } catch (error) {
      throw unreachable(server, error, fetch);
    } finally {
      // Closing the client only stops its streams; the upstream session stays.
      await client.close().catch(() => undefined);
    }
  }

  /** Ends an upstream session opened by {@link openSession} (DELETE); an upstream that already forgot it is fine. */
  async endSession(server: ServerTarget, credentialHeaders: Record<string, string>, sessionId: string): Promise<void> {
    const fetch = this.upstream.fetchFor(server);
    const transport = this.transport(server, credentialHeaders, fetch, sessionId);
    try {
      await transport.terminateSession();
    } catch (error) {
      if (!(error instanceof StreamableHTTPError && error.code === 404)) throw unreachable(server, error, fetch);
    } finally {
      await transport.close().catch(() => undefined);
    }
  }

  async listTools(server: ServerTarget, credentialHeaders: Record<string, string>, sessionId?: string): Promise<Tool[]> {
    return this.session(server, credentialHeaders, sessionId, async (client) => {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const result = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: server.timeoutMs });
        tools.push(...result.tools);
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
      return tools;
    });
  }

  async callTool(server: ServerTarget, credentialHeaders: Record<string, string>, name: string, args: Record<string, unknown> | undefined, sessionId?: string): Promise<CallToolResult> {
    return this.session(server, credentialHeaders, sessionId, async (client) => (await client.callTool({ name, arguments: args }, undefined, { timeout: server.timeoutMs })) as CallToolResult);
  }

  /** Runs `use` in the upstream session `sessionId`, or in a short session of its own when there is none or the upstream forgot it. */
  private async session<T>(server: ServerTarget, credentialHeaders: Record<string, string>, sessionId: string | undefined, use: (client: Client) => Promise<T>): Promise<T> {
    if (sessionId === undefined || server.transport === 'sse') return this.shortSession(server, credentialHeaders, use);
    const fetch = this.upstream.fetchFor(server);
    const transport = this.transport(server, credentialHeaders, fetch, sessionId);
    const client = new Client(CLIENT_INFO);
    try {
      // With a session id the SDK client skips `initialize`: the session goes on.
      await client.connect(transport, { timeout: server.timeoutMs });
      return await use(client);
    } catch (error) {
      // The upstream restarted or expired the session (404, as the spec says): this call still goes through.
      if (error instanceof StreamableHTTPError && error.code === 404) return this.shortSession(server, credentialHeaders, use);
      throw fetch.refusal ?? error;
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  private async shortSession<T>(server: ServerTarget, credentialHeaders: Record<string, string>, use: (client: Client) => Promise<T>): Promise<T> {
    const fetch = this.upstream.fetchFor(server);
    const transport = server.transport === 'sse' ? this.legacyTransport(server, credentialHeaders, fetch) : this.transport(server, credentialHeaders, fetch);
    const client = new Client(CLIENT_INFO);
    try {
      try {
        await client.connect(transport, { timeout: server.timeoutMs });
      } catch (error) {
        throw unreachable(server, error, fetch);
      }
      return await use(client);
    } finally {
      if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
  }

  private transport(server: ServerTarget, credentialHeaders: Record<string, string>, fetch: GuardedFetch, sessionId?: string): StreamableHTTPClientTransport {
    return new StreamableHTTPClientTransport(new URL(server.url), { sessionId, requestInit: { headers: this.injectedHeaders(server, credentialHeaders) }, fetch });
  }

  /** The credential goes on the event stream's GET and on every message POST alike. */
  private legacyTransport(server: ServerTarget, credentialHeaders: Record<string, string>, fetch: GuardedFetch): SSEClientTransport {
    return new SSEClientTransport(new URL(server.url), { requestInit: { headers: this.injectedHeaders(server, credentialHeaders) }, fetch });
  }

  private injectedHeaders(server: ServerTarget, credentialHeaders: Record<string, string>): Record<string, string> {
    const { headers, refused } = upstreamRequestHeaders({}, credentialHeaders);
    if (refused.length > 0) this.logger.warn({ server: server.slug, refused }, 'unsafe injected headers were not sent upstream');
    return headers;
  }
}

/** The upstream could not be reached; a refused private address says so rather than hiding in "unreachable". */
function unreachable(server: ServerTarget, error: unknown, fetch: GuardedFetch): UpstreamAddressRefusedError | UpstreamUnreachableError {
  return fetch.refusal ?? new UpstreamUnreachableError(server.slug, { cause: error });
}
