import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLogger } from '@portcullis/telemetry';
import { DEFAULT_OAUTH_OPTIONS, OAuthDiscoveryService, OAuthHttpClient, TokenEndpointClient } from '@portcullis/token-vault';
import { VaultAuthorizer } from './auth-client-oauth';

/** The client_id URL the suite's `auth/basic-cimd` scenario expects (it passes none in the context; clients are configured with it). */
const CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json';

/**
 * The client command the conformance suite runs for its auth scenarios
 * (`conformance client --suite auth`): `auth-client-launcher.js <server URL>`,
 * with the scenario in MCP_CONFORMANCE_SCENARIO and, for pre-registration,
 * `client_id`/`client_secret` in the MCP_CONFORMANCE_CONTEXT JSON. It connects
 * with the SDK client, obtains tokens with the vault's OAuth building blocks
 * (VaultAuthorizer), lists the tools and calls the first.
 */
async function main(serverUrl: string, context: Record<string, unknown>): Promise<void> {
  // The suite's servers run on loopback, which the vault refuses by default (SSRF guard).
  const http = new OAuthHttpClient({ ...DEFAULT_OAUTH_OPTIONS, outboundAllowPrivate: true });
  const logger = createLogger({ service: 'conformance-auth-client', level: 'warn', destination: process.stderr });
  const discovery = new OAuthDiscoveryService(http, logger, { publicUrl: undefined, clientMetadataUrl: CLIENT_METADATA_URL });
  const preRegistered = typeof context['client_id'] === 'string' ? { clientId: context['client_id'], ...(typeof context['client_secret'] === 'string' && { clientSecret: context['client_secret'] }) } : null;
  const authorizer = new VaultAuthorizer({ resource: serverUrl, discovery, endpoint: new TokenEndpointClient(http), preRegistered });
  const client = new Client({ name: 'portcullis-vault-auth-client', version: '0.1.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { fetch: authorizer.fetch }));
    const { tools } = await client.listTools();
    if (tools[0]) await client.callTool({ name: tools[0].name, arguments: {} });
    process.stdout.write(`listed ${tools.length} tool(s) after ${authorizer.authorizations} authorization(s)\n`);
  } finally {
    await client.close();
    await http.onModuleDestroy();
  }
}

const serverUrl = process.argv[2];
if (!serverUrl) {
  process.stderr.write('usage: auth-client-launcher.js <MCP server URL>\n');
  process.exit(2);
}
main(serverUrl, JSON.parse(process.env['MCP_CONFORMANCE_CONTEXT'] ?? '{}') as Record<string, unknown>).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${process.env['MCP_CONFORMANCE_SCENARIO'] ?? 'auth client'} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
