import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AuditEvent, RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { auditEvent, OwnNatsServer } from '@portcullis/testing';
import { connect, NatsConnection } from 'nats';
import { NatsBus } from './nats.bus';

const CONFIG = join(__dirname, '../../../deploy/nats/nats-server.conf');
const SERVICES = ['edge-proxy', 'identity', 'registry', 'token-vault', 'audit'] as const;
type Service = (typeof SERVICES)[number];
const passwords = Object.fromEntries(SERVICES.map((service) => [service, `p${randomBytes(18).toString('hex')}`])) as Record<Service, string>;
const passwordVariable = (service: Service) => `PORTCULLIS_NATS_${service.toUpperCase().replace(/-/g, '_')}_PASSWORD`;

const ALICE = { id: 'user-alice', kind: 'user', sub: 'alice', email: 'alice@example.com', teams: [], isAdmin: false } as const;
const SERVER = { id: '4f0e1c6a-6f43-4bd4-9f7e-2f1f8d8c1a11', slug: 'github', authType: 'header', url: 'https://mcp.example.com/mcp' } as const;
const UPSTREAM_SECRET = `upstream-secret-${randomBytes(12).toString('hex')}`;

/**
 * deploy/nats/nats-server.conf on a real nats-server: each service connects as
 * its own user, the way production runs it, and gets only what its role needs
 * (DESIGN §3: only the edge may ask the vault for credentials, only the vault
 * answers `vault.>`, only audit consumes the AUDIT stream).
 */
describe('NATS permissions of deploy/nats/nats-server.conf', () => {
  let nats: OwnNatsServer;
  const buses = {} as Record<Service, NatsBus>;
  const raw: NatsConnection[] = [];

  const connectAs = (service: Service) =>
    NatsBus.connect({ servers: nats.url, name: `portcullis-${service}`, user: service, pass: passwords[service], inboxPrefix: `_INBOX_${service}`, defaultTimeoutMs: 1500 });
  /** A plain client as one service's user, to try what the bus would never do. */
  const rawAs = async (service: Service) => {
    const nc = await connect({ servers: nats.url, user: service, pass: passwords[service], inboxPrefix: `_INBOX_${service}` });
    raw.push(nc);
    return nc;
  };
  /**
   * The server refuses a subscription asynchronously (a permissions violation
   * that ends it); one it allows stays open.
   */
  const subscription = async (nc: NatsConnection, subject: string): Promise<'refused' | 'open'> => {
    const sub = nc.subscribe(subject);
    const verdict = await Promise.race([sub.closed.then(() => 'refused' as const, () => 'refused' as const), new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 1000))]);
    sub.unsubscribe();
    return verdict;
  };

  beforeAll(async () => {
    nats = await OwnNatsServer.start({ configFile: CONFIG, env: Object.fromEntries(SERVICES.map((service) => [passwordVariable(service), passwords[service]])) });
    for (const service of SERVICES) buses[service] = await connectAs(service);
    buses['token-vault'].reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async () => ({
      status: 'ready',
      credentialKind: 'header',
      credentialId: 'cred-1',
      headers: { 'X-Api-Key': UPSTREAM_SECRET },
      expiresAt: null,
    }));
  });

  afterAll(async () => {
    await Promise.allSettled(raw.map((nc) => nc.close()));
    await Promise.allSettled(Object.values(buses).map((bus) => bus.close()));
    await nats?.destroy();
  });

  it('refuses a connection without the right password', async () => {
    await expect(connect({ servers: nats.url, user: 'edge-proxy', pass: 'wrong' })).rejects.toThrow(/Authorization/i);
  });

  it('lets the edge ask the vault for a credential, the vault answering on the edge-only inbox', async () => {
    const credential = await buses['edge-proxy'].request(RequestSubjects.vaultCredentialResolve, { principal: ALICE, server: SERVER });
    expect(credential).toMatchObject({ status: 'ready', headers: { 'X-Api-Key': UPSTREAM_SECRET } });
  });

  it('stops the registry from asking the vault for a user credential (only the edge may)', async () => {
    await expect(buses.registry.request(RequestSubjects.vaultCredentialResolve, { principal: ALICE, server: SERVER })).rejects.toMatchObject({ code: expect.stringMatching(/TIMEOUT|UNAVAILABLE/) });
  });

  it('stops the registry from reading vault.> or the edge inbox where the vault answers go', async () => {
    const registry = await rawAs('registry');
    expect(await subscription(registry, 'registry.resolve')).toBe('open');
    expect(await subscription(registry, 'vault.>')).toBe('refused');
    expect(await subscription(registry, '_INBOX_edge-proxy.>')).toBe('refused');
    expect(await subscription(registry, '_INBOX.>')).toBe('refused');
  });

  it('stops any service but token-vault from answering vault.> (no impostor vault)', async () => {
    expect(await subscription(await rawAs('token-vault'), 'vault.credential.resolve')).toBe('open');
    for (const service of ['edge-proxy', 'identity', 'registry', 'audit'] as const) {
      const nc = await rawAs(service);
      expect({ service, verdict: await subscription(nc, 'vault.credential.resolve') }).toEqual({ service, verdict: 'refused' });
    }
  });

  it('lets every service publish audit events and only audit consume them', async () => {
    const received: AuditEvent[] = [];
    await buses.audit.consumeAudit(async (event) => void received.push(event));
    const events = SERVICES.map((service) => auditEvent({ reason: `from ${service}` }));
    for (const [index, service] of SERVICES.entries()) await buses[service].publishAudit(events[index]!);
    const deadline = Date.now() + 10_000;
    while (received.length < events.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.map((event) => event.reason).sort()).toEqual(events.map((event) => event.reason).sort());
    await expect(buses.registry.consumeAudit(async () => undefined)).rejects.toThrow();
  });
});
