import { Inject, Injectable } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Bus, BusError } from '@portcullis/bus';
import { RequestSubjects, vaultServerOf } from '@portcullis/contracts';
import { fromBusError, UpstreamUnreachableError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';
import { OutboundUrlPolicy } from '../servers/outbound-url.policy';
import type { ServerEntity } from '../servers/server.entity';

/** How long connecting to an upstream and listing its tools may take at save time. */
export const UPSTREAM_LIST_TIMEOUT_MS = 5000;
/** Pages of `tools/list` read at most, so a misbehaving upstream cannot keep a save waiting forever. */
const MAX_PAGES = 20;

/**
 * Lists an upstream server's tools with the MCP SDK client, as the gateway
 * itself would reach it: the shared credential from the vault, the SSRF guard
 * re-checked against what the host resolves to now, a short timeout.
 */
@Injectable()
export class UpstreamToolsClient {
  constructor(
    private readonly bus: Bus,
    private readonly outbound: OutboundUrlPolicy,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  /**
   * The upstream's tool names, or `null` when the gateway cannot list them on
   * its own (the credential is per user), so the save cannot check them.
   * @throws InvalidRequestError naming `field` when the URL now points somewhere private; UpstreamUnreachableError
   */
  async listTools(server: ServerEntity, field: string): Promise<string[] | null> {
    const headers = await this.headersFor(server);
    if (headers === null) return null;
    await this.outbound.check(server.url, field);
    const client = new Client({ name: 'portcullis-registry', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
    const options = { timeout: UPSTREAM_LIST_TIMEOUT_MS, maxTotalTimeout: UPSTREAM_LIST_TIMEOUT_MS };
    try {
      await client.connect(transport, options);
      const names: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await client.listTools(cursor === undefined ? undefined : { cursor }, options);
        names.push(...result.tools.map((tool) => tool.name));
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      return names;
    } catch (error) {
      throw new UpstreamUnreachableError(server.slug, { cause: error });
    } finally {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
  }

  private async headersFor(server: ServerEntity): Promise<Record<string, string> | null> {
    switch (server.authType) {
      case 'none':
        return {};
      case 'header':
        // Per-user values belong to users: the gateway has nothing of its own to list tools with.
        if (server.headerMode === 'per_user') return null;
        try {
          const resolved = await this.bus.request(
            RequestSubjects.vaultAdminSharedCredentialResolve,
            { server: vaultServerOf(server) },
            { timeoutMs: this.settings.dependencyTimeoutMs },
          );
          return resolved.headers;
        } catch (error) {
          if (error instanceof BusError && error.code === 'NOT_FOUND') return null;
          throw fromBusError('token-vault', error);
        }
      default:
        // OAuth and passthrough credentials belong to users: the check is skipped rather than done as nobody.
        return null;
    }
  }
}
