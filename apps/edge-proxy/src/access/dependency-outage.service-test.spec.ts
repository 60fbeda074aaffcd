import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { BusError, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { allowAll, initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';

const TOKEN = 'pcl_outage_token_for_this_spec_aaaaaa';
type Dependency = 'identity' | 'registry' | 'token-vault';

/**
 * Issue 9 over HTTP: a dependency that does not answer, with nothing cached,
 * is a 503 and a JSON-RPC error naming it; a warm edge keeps serving calls from
 * its caches while identity, the registry and the vault are all down.
 */
describe('the edge over HTTP while a dependency is down', () => {
  let echo: EchoMcpServer;
  let edge: RunningEdge;
  let subscriptions: Map<Dependency, BusSubscription[]>;
  const alice = principal();

  beforeAll(async () => {
    echo = await startEchoMcpServer();
  });
  beforeEach(async () => {
    edge = await startEdge({ services: false });
    const server = target('echo', echo.url, { authType: 'none' });
    const { bus } = edge;
    subscriptions = new Map([
      ['identity', [bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async () => ({ principal: alice, expiresAt: null }))]],
      [
        'registry',
        [
          bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async () => ({ target: server })),
          bus.reply(RequestSubjects.registryAuthorize, ServiceQueues.registry, async () => allowAll()),
          bus.reply(RequestSubjects.registryResolveVirtual, ServiceQueues.registry, async () => {
            throw new BusError('NOT_FOUND', 'not a virtual server');
          }),
        ],
      ],
      ['token-vault', [bus.reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async () => ({ status: 'ready', credentialKind: 'none', credentialId: null, headers: {}, expiresAt: null }))]],
    ]);
  });
  afterEach(async () => {
    await edge?.close();
  });
  afterAll(async () => {
    await echo?.close();
  });

  const down = (...dependencies: Dependency[]) => Promise.all(dependencies.flatMap((d) => subscriptions.get(d)!.map((s) => s.unsubscribe())));
  const initialize = (id: number) =>
    fetch(edge.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` }, body: initializeRequest(id) });

  it.each<Dependency>(['identity', 'registry', 'token-vault'])('answers 503 with a JSON-RPC error naming %s when it does not answer and nothing is cached', async (dependency) => {
    await down(dependency);
    const response = await initialize(7);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32603, message: `The gateway's ${dependency} service is unavailable; try again later`, data: { code: 'dependency_unavailable', dependency } },
    });
  });

  it('keeps serving tool calls from its caches while identity, the registry and the vault are all down', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl('echo')), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } });
    const client = new Client({ name: 'outage-spec', version: '1.0.0' });
    await client.connect(transport);
    try {
      await client.callTool({ name: 'echo', arguments: { message: 'warm' } });
      const before = edge.bus.requested.length;
      await down('identity', 'registry', 'token-vault');

      await expect(client.callTool({ name: 'echo', arguments: { message: 'still here' } })).resolves.toMatchObject({ content: [{ type: 'text', text: 'still here' }] });
      expect(edge.bus.requested.length).toBe(before);
    } finally {
      await client.close();
    }
  });
});
