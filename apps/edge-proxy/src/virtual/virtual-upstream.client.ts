import { Injectable } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ServerTarget } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { Inject } from '@nestjs/common';
import { UnsupportedTransportError, UpstreamUnreachableError } from '../errors';
import { upstreamRequestHeaders } from '../mcp/forwarded-headers';

const MAX_LIST_PAGES = 50;

/**
 * Talks MCP to the upstreams of a virtual server as a client of its own (the
 * SDK's), one short session per use, with the caller's credential for that
 * upstream injected. Nothing of the agent's request is forwarded but the
 * tool name and arguments.
 */
@Injectable()
export class VirtualUpstreamClient {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  async listTools(server: ServerTarget, credentialHeaders: Record<string, string>): Promise<Tool[]> {
    return this.session(server, credentialHeaders, async (client) => {
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

  async callTool(server: ServerTarget, credentialHeaders: Record<string, string>, name: string, args: Record<string, unknown> | undefined): Promise<CallToolResult> {
    return this.session(server, credentialHeaders, async (client) => (await client.callTool({ name, arguments: args }, undefined, { timeout: server.timeoutMs })) as CallToolResult);
  }

  private async session<T>(server: ServerTarget, credentialHeaders: Record<string, string>, use: (client: Client) => Promise<T>): Promise<T> {
    if (server.transport !== 'streamable-http') throw new UnsupportedTransportError(server.slug, server.transport);
    const { headers, refused } = upstreamRequestHeaders({}, credentialHeaders);
    if (refused.length > 0) this.logger.warn({ server: server.slug, refused }, 'unsafe injected headers were not sent upstream');
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
    const client = new Client({ name: 'portcullis-gateway', version: '1.0.0' });
    try {
      try {
        await client.connect(transport, { timeout: server.timeoutMs });
      } catch (error) {
        throw new UpstreamUnreachableError(server.slug, { cause: error });
      }
      return await use(client);
    } finally {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
  }
}
