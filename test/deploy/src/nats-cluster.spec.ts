import { NatsBus } from '@portcullis/bus';
import { AuditStream } from '@portcullis/contracts';
import { auditEvent, freePort, sleep } from '@portcullis/testing';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, JetStreamManager, NatsConnection, StorageType } from 'nats';
import { request } from 'undici';
import { find, loadManifests } from './manifests';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const SERVERS = 3;

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/**
 * The nats-config ConfigMap of deploy/kubernetes run as it is on three real
 * nats-server processes. Only the addresses change: flags move the client,
 * monitoring and route ports (and the routes) onto loopback, since the pods'
 * DNS names do not exist here; users, permissions, JetStream and the cluster
 * block come from the manifests.
 */
describe('the NATS cluster of deploy/kubernetes', () => {
  const configMap = find(loadManifests(), 'ConfigMap', 'nats-config');
  const folder = mkdtempSync(join(tmpdir(), 'portcullis-nats-cluster-'));
  const users = ['edge-proxy', 'identity', 'registry', 'token-vault', 'audit'];
  const passwords = Object.fromEntries(users.map((user) => [user, `p${randomBytes(18).toString('hex')}`]));
  const passwordEnv = Object.fromEntries(users.map((user) => [`PORTCULLIS_NATS_${user.toUpperCase().replace(/-/g, '_')}_PASSWORD`, passwords[user]]));
  const servers: { child: ChildProcess; monitorPort: number; stderr: string }[] = [];
  const connections: NatsConnection[] = [];
  const buses: NatsBus[] = [];
  let url = '';

  const connectAs = async (user: string) => {
    const nc = await connect({ servers: url.split(','), user, pass: passwords[user], inboxPrefix: `_INBOX_${user}`, maxReconnectAttempts: -1 });
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    for (const [file, text] of Object.entries(configMap.data ?? {})) writeFileSync(join(folder, file), text);
    const ports = await Promise.all(Array.from({ length: SERVERS }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
    const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
    ports.forEach((p, ordinal) => {
      const child = spawn(
        NATS_SERVER,
        ['-c', join(folder, 'cluster.conf'), '-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes, '-P', join(folder, `nats-${ordinal}.pid`)],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...passwordEnv, POD_NAME: `nats-${ordinal}`, NATS_STORE_DIR: join(folder, `store-${ordinal}`) } },
      );
      const server = { child, monitorPort: p.monitor, stderr: '' };
      child.stderr?.on('data', (chunk: Buffer) => (server.stderr = (server.stderr + chunk.toString()).slice(-4000)));
      servers.push(server);
    });
    url = ports.map((p) => `nats://127.0.0.1:${p.client}`).join(',');
    await Promise.all(servers.map(healthy));
  });

  afterAll(async () => {
    await Promise.allSettled(buses.map((bus) => bus.close()));
    await Promise.allSettled(connections.map((nc) => nc.close()));
    const running = servers.map(({ child }) => child).filter(isRunning);
    for (const child of running) child.kill('SIGTERM');
    await Promise.all(running.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    rmSync(folder, { recursive: true, force: true });
  });

  /** Until the server's /healthz (the pods' probe) answers 200: routes up, JetStream current. */
  async function healthy(server: { child: ChildProcess; monitorPort: number; stderr: string }): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!isRunning(server.child)) throw new Error(`nats-server exited with ${server.child.exitCode}:\n${server.stderr}`);
      const status = await request(`http://127.0.0.1:${server.monitorPort}/healthz`).then(
        async (response) => (await response.body.dump(), response.statusCode),
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`nats-server on monitor port ${server.monitorPort} not healthy within 30 s`);
      await sleep(200);
    }
  }

  /** The JetStream API, once the cluster has a meta leader to answer it. */
  async function jetStreamOf(nc: NatsConnection): Promise<JetStreamManager> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await nc.jetstreamManager({ timeout: 2000 });
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  }

  it('forms a JetStream cluster where the Job’s AUDIT stream has three replicas, kept when the services start', async () => {
    // What the nats-audit-stream Job does with the nats CLI, as the audit user on its own inbox.
    const jsm = await jetStreamOf(await connectAs('audit'));
    const created = await jsm.streams.add({ name: AuditStream.name, subjects: [`${AuditStream.subjectPrefix}.>`], storage: StorageType.File, num_replicas: 3 });
    expect(created.config.num_replicas).toBe(3);

    // Every service ensures the stream at start; that must not shrink it back to one replica.
    for (const user of ['registry', 'edge-proxy']) {
      buses.push(await NatsBus.connect({ servers: url, name: `portcullis-${user}`, user, pass: passwords[user], inboxPrefix: `_INBOX_${user}` }));
    }
    const deadline = Date.now() + 15_000;
    let info = await jsm.streams.info(AuditStream.name);
    while ((info.cluster?.replicas ?? []).filter((replica) => replica.current).length < 2 && Date.now() < deadline) {
      await sleep(200);
      info = await jsm.streams.info(AuditStream.name);
    }
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.leader).toMatch(/^nats-[012]$/);
    expect(new Set([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((replica) => replica.name)])).toEqual(new Set(['nats-0', 'nats-1', 'nats-2']));
  });

  it('keeps taking audit events with one of the three servers killed', async () => {
    const bus = buses[0];
    await bus.publishAudit(auditEvent());
    const victim = servers[1].child;
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;

    // The stream leader may have been the victim: give the other two a moment to elect one.
    const events = Array.from({ length: 5 }, () => auditEvent());
    const deadline = Date.now() + 20_000;
    for (const event of events) {
      for (;;) {
        try {
          await bus.publishAudit(event);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(250);
        }
      }
    }
    const jsm = await jetStreamOf(await connectAs('audit'));
    const info = await jsm.streams.info(AuditStream.name);
    expect(info.state.messages).toBe(6);
    expect(info.config.num_replicas).toBe(3);
  });
});
