import { AllInOneUnderTest, ServerEverything, startAllInOne, startServerEverything } from '@portcullis/testing';
import { BearerInjector, startBearerInjector } from './bearer-injector';
import { runServerScenarios, ScenarioResult } from './conformance-runner';

async function admin(gateway: AllInOneUnderTest, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.registryUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/**
 * The MCP conformance suite (`@modelcontextprotocol/conformance`, server
 * scenarios, under Node 22) against `server-everything` directly and through
 * the gateway: the gateway must pass every scenario the direct run passes,
 * and must itself refuse DNS rebinding.
 */
describe('MCP conformance: server-everything directly and through the gateway', () => {
  let everything: ServerEverything;
  let gateway: AllInOneUnderTest;
  let injector: BearerInjector;
  let direct: Map<string, ScenarioResult>;
  let proxied: Map<string, ScenarioResult>;

  beforeAll(async () => {
    everything = await startServerEverything();
    gateway = await startAllInOne();
    expect((await admin(gateway, 'POST', '/api/v1/servers', { slug: 'everything', name: 'server-everything', url: everything.url, authType: 'none' })).status).toBe(201);
    // An ordinary user's key with the `user` role on the server, as an agent would hold.
    const key = await admin(gateway, 'POST', '/api/v1/api-keys', { name: 'conformance-agent', ownerEmail: 'agent@conformance.example' });
    expect(key.status).toBe(201);
    expect((await admin(gateway, 'POST', '/api/v1/servers/everything/collaborators', { subject: 'user:agent@conformance.example', role: 'user' })).status).toBe(201);
    injector = await startBearerInjector(gateway.edgeUrl, key.body.token);
    direct = await runServerScenarios(everything.url);
    proxied = await runServerScenarios(`${injector.url}/mcp/everything`);
  });

  afterAll(async () => {
    await injector?.close();
    await gateway?.destroy();
    await everything?.close();
  });

  it('runs the same scenarios both ways, and the direct run passes some', () => {
    expect([...proxied.keys()].sort()).toEqual([...direct.keys()].sort());
    expect([...direct.values()].filter((result) => result.passed).length).toBeGreaterThan(5);
  });

  it('passes through the gateway every scenario the direct run passes', () => {
    const lost = [...direct].filter(([name, result]) => result.passed && !proxied.get(name)?.passed).map(([name]) => `${name}: ${proxied.get(name)?.failures.join('; ')}`);
    expect(lost).toEqual([]);
  });

  it('refuses DNS rebinding at the gateway (the scenario passes through it)', () => {
    expect(proxied.get('dns-rebinding-protection')).toEqual({ passed: true, failures: [] });
  });
});
