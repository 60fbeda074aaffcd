import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { AuditEvent, EventOf, EventSubjects, RequestSubjects } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { bootIdentity, bootRegistry, callJson, newAdminToken } from './registry-test-harness';

const ADMIN_TOKEN = newAdminToken();

/** `/api/v1/users`, `/teams`, `/virtual-accounts` and a user's own `/api-keys`: registry → bus → identity on real PostgreSQL. */
describe('identity admin API (users, teams, virtual accounts, own API keys)', () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let identity: NestFastifyApplication;
  let registry: NestFastifyApplication;
  const revocations: EventOf<typeof EventSubjects.identityRevoked>[] = [];
  const audit: AuditEvent[] = [];

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = ADMIN_TOKEN) => callJson(registry, method, url, body, token);
  const whoAmI = async (token: string) => (await call('GET', '/api/v1/api-keys', undefined, token)).status;

  beforeAll(async () => {
    database = await createTestDatabase('registry-identity-admin');
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    bus.on(EventSubjects.identityRevoked, (event) => void revocations.push(event));
    await bus.consumeAudit(async (event) => void audit.push(event));
    const logger = createLogger({ service: 'test', level: 'silent' });
    identity = await bootIdentity({ bus, closeBusOnShutdown: false, logger, databaseUrl: database.url, bootstrapAdminToken: ADMIN_TOKEN });
    registry = await bootRegistry({ bus, closeBusOnShutdown: false, logger, databaseUrl: database.url, outboundAllowPrivate: true });
  });

  afterAll(async () => {
    await registry?.close();
    await identity?.close();
    await bus?.close();
    await database?.drop();
  });

  describe('admin audit trail', () => {
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

    it('records one admin.change per change and credential.revoked per revocation, with the admin as principal and no secret', async () => {
      audit.length = 0;
      const key = await call('POST', '/api/v1/api-keys', { name: 'audited', ownerEmail: 'dave@example.com' });
      expect((await call('DELETE', `/api/v1/api-keys/${key.body.apiKey.id}`)).status).toBe(200);
      expect((await call('POST', '/api/v1/virtual-accounts', { name: 'audit-bot' })).status).toBe(201);
      const issued = await call('POST', '/api/v1/virtual-accounts/audit-bot/tokens', {});
      expect((await call('DELETE', `/api/v1/virtual-accounts/audit-bot/tokens/${issued.body.virtualAccountToken.id}`)).status).toBe(200);
      expect((await call('POST', `/api/v1/users/${key.body.apiKey.ownerUserId}/deactivate`)).status).toBe(200);
      await settle();

      expect(audit.filter((e) => e.action === 'admin.change').map((e) => e.reason)).toEqual([
        'api-key.create audited',
        `api-key.revoke ${key.body.apiKey.id}`,
        'virtual-account.create audit-bot',
        'virtual-account.token.issue audit-bot',
        `virtual-account.token.revoke audit-bot ${issued.body.virtualAccountToken.id}`,
        `user.deactivate ${key.body.apiKey.ownerUserId}`,
      ]);
      expect(audit.filter((e) => e.action === 'credential.revoked').map((e) => [e.credentialKind, e.credentialId])).toEqual([
        ['api-key', key.body.apiKey.id],
        ['virtual-account-token', issued.body.virtualAccountToken.id],
        ['user', null],
      ]);
      expect(new Set(audit.map((e) => e.principal?.kind))).toEqual(new Set(['user']));
      expect(audit.every((e) => e.outcome === 'success')).toBe(true);
      const stored = JSON.stringify(audit);
      for (const secret of [key.body.token, issued.body.token, ADMIN_TOKEN]) expect(stored).not.toContain(secret);
      // Leaves no deactivated user behind for the user-listing tests.
      expect((await call('POST', `/api/v1/users/${key.body.apiKey.ownerUserId}/reactivate`)).status).toBe(200);
      await settle();
    });

    it('records nothing for a change that failed or a read', async () => {
      audit.length = 0;
      expect((await call('POST', '/api/v1/virtual-accounts', { name: 'audit-bot' })).status).toBe(409);
      expect((await call('GET', '/api/v1/virtual-accounts')).status).toBe(200);
      await settle();
      expect(audit).toEqual([]);
    });
  });

  describe('auditor role', () => {
    it('grants and withdraws the auditor role, carried on the principal of the user\'s keys', async () => {
      const key = await call('POST', '/api/v1/api-keys', { name: 'compliance', ownerEmail: 'auditor@example.com' });
      const userId = key.body.apiKey.ownerUserId;
      expect((await call('PATCH', `/api/v1/users/${userId}`, { auditor: true })).body).toMatchObject({ id: userId, isAuditor: true, isAdmin: false });
      const { principal } = await bus.request(RequestSubjects.identityAuthenticate, { token: key.body.token });
      expect(principal).toMatchObject({ isAuditor: true, isAdmin: false });
      expect((await call('PATCH', `/api/v1/users/${userId}`, { auditor: false })).body.isAuditor).toBe(false);
      expect((await bus.request(RequestSubjects.identityAuthenticate, { token: key.body.token })).principal.isAuditor).toBeUndefined();
    });

    it('names a bad field (400) and answers 404 for an unknown user', async () => {
      const bad = await call('PATCH', `/api/v1/users/${randomUUID()}`, { auditor: 'yes', admin: true });
      expect(bad.status).toBe(400);
      expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['admin', 'auditor']);
      expect((await call('PATCH', `/api/v1/users/${randomUUID()}`, { auditor: true })).status).toBe(404);
    });

    it('stops privilege escalation: an auditor cannot grant the role or change the registry', async () => {
      const key = await call('POST', '/api/v1/api-keys', { name: 'nosy', ownerEmail: 'nosy@example.com' });
      await call('PATCH', `/api/v1/users/${key.body.apiKey.ownerUserId}`, { auditor: true });
      expect((await call('PATCH', `/api/v1/users/${key.body.apiKey.ownerUserId}`, { auditor: false }, key.body.token)).status).toBe(403);
      expect((await call('POST', '/api/v1/teams', { name: 'auditors' }, key.body.token)).status).toBe(403);
    });
  });

  describe('users', () => {
    it('lists and filters users, deactivation revokes every key and announces the principal, reactivation keeps keys revoked', async () => {
      const first = await call('POST', '/api/v1/api-keys', { name: 'laptop', ownerEmail: 'carol@example.com' });
      const second = await call('POST', '/api/v1/api-keys', { name: 'ci', ownerEmail: 'carol@example.com' });
      expect([first.status, second.status]).toEqual([201, 201]);
      const userId = first.body.apiKey.ownerUserId;
      expect(await whoAmI(first.body.token)).toBe(200);

      const listed = await call('GET', '/api/v1/users?email=CAROL');
      expect(listed.body.items).toEqual([expect.objectContaining({ id: userId, email: 'carol@example.com', active: true, isAdmin: false, teams: [], identities: [] })]);
      expect((await call('GET', '/api/v1/users?active=false')).body.items).toEqual([]);
      expect((await call('GET', `/api/v1/users/${userId}`)).body.email).toBe('carol@example.com');

      revocations.length = 0;
      const deactivated = await call('POST', `/api/v1/users/${userId}/deactivate`);
      expect(deactivated.status).toBe(200);
      expect(deactivated.body).toMatchObject({ user: { id: userId, active: false }, revokedApiKeys: 2 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(revocations).toEqual([{ credentialIds: expect.arrayContaining([first.body.apiKey.id, second.body.apiKey.id]), principalIds: [`user:${userId}`] }]);
      expect(await whoAmI(first.body.token)).toBe(401);
      expect((await call('GET', '/api/v1/users?active=false')).body.items.map((u: { id: string }) => u.id)).toEqual([userId]);

      const reactivated = await call('POST', `/api/v1/users/${userId}/reactivate`);
      expect(reactivated.body).toMatchObject({ user: { active: true }, revokedApiKeys: 0 });
      expect(await whoAmI(second.body.token)).toBe(401);
    });

    it('refuses an admin deactivating themselves (locking the last admin out), and answers 404 for unknown ids', async () => {
      const admins = (await call('GET', '/api/v1/users?email=admin@portcullis.local')).body.items;
      expect((await call('POST', `/api/v1/users/${admins[0].id}/deactivate`)).status).toBe(409);
      expect((await call('GET', `/api/v1/users/${randomUUID()}`)).status).toBe(404);
      expect((await call('POST', '/api/v1/users/not-a-uuid/deactivate')).status).toBe(404);
      expect((await call('GET', '/api/v1/users?active=maybe')).status).toBe(400);
    });
  });

  describe('teams', () => {
    it('creates a team, adds and removes members by e-mail and id, and tells edges to forget the members', async () => {
      const key = await call('POST', '/api/v1/api-keys', { name: 'dana', ownerEmail: 'dana@example.com' });
      const userId = key.body.apiKey.ownerUserId;
      expect((await call('POST', '/api/v1/teams', { name: 'platform' })).status).toBe(201);
      expect((await call('POST', '/api/v1/teams', { name: 'platform' })).status).toBe(409);
      revocations.length = 0;
      const added = await call('POST', '/api/v1/teams/platform/members', { email: 'dana@example.com' });
      expect(added.body).toMatchObject({ name: 'platform', members: [{ userId, email: 'dana@example.com', source: 'admin' }] });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(revocations).toEqual([{ credentialIds: [], principalIds: [`user:${userId}`] }]);
      expect((await call('GET', `/api/v1/users?team=platform`)).body.items.map((u: { id: string }) => u.id)).toEqual([userId]);
      expect((await call('GET', '/api/v1/teams')).body.items.map((t: { name: string }) => t.name)).toContain('platform');
      expect((await call('DELETE', `/api/v1/teams/platform/members/${userId}`)).body.members).toEqual([]);
      expect((await call('DELETE', `/api/v1/teams/platform/members/${userId}`)).status).toBe(404);
      expect((await call('DELETE', '/api/v1/teams/platform')).status).toBe(200);
      expect((await call('GET', '/api/v1/teams/platform')).status).toBe(404);
    });

    it('refuses a bad team name and a member named twice or not at all', async () => {
      expect((await call('POST', '/api/v1/teams', { name: 'has space' })).status).toBe(400);
      await call('POST', '/api/v1/teams', { name: 'ops' });
      expect((await call('POST', '/api/v1/teams/ops/members', {})).status).toBe(400);
      expect((await call('POST', '/api/v1/teams/ops/members', { userId: randomUUID(), email: 'x@example.com' })).status).toBe(400);
      expect((await call('POST', '/api/v1/teams/ops/members', { userId: randomUUID() })).status).toBe(404);
    });
  });

  describe('virtual accounts', () => {
    it('creates an account, issues a token that authenticates as virtualaccount:<uuid>, rotates with a grace period and revokes', async () => {
      const created = await call('POST', '/api/v1/virtual-accounts', { name: 'ci-bot', description: 'CI' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'ci-bot', description: 'CI', canExchange: false });
      expect((await call('POST', '/api/v1/virtual-accounts', { name: 'ci-bot' })).status).toBe(409);
      const issued = await call('POST', '/api/v1/virtual-accounts/ci-bot/tokens', {});
      expect(issued.status).toBe(201);
      expect(issued.body.token).toMatch(/^pcv_/);
      expect(issued.body.virtualAccountToken).toMatchObject({ name: 'default', prefix: issued.body.token.split('_').slice(0, 2).join('_'), revokedAt: null });

      const { principal } = await bus.request('identity.authenticate', { token: issued.body.token });
      expect(principal).toEqual({ id: `virtualaccount:${created.body.id}`, kind: 'virtual_account', sub: 'ci-bot', teams: [], isAdmin: false, credentialId: issued.body.virtualAccountToken.id });

      const rotated = await call('POST', `/api/v1/virtual-accounts/ci-bot/tokens/${issued.body.virtualAccountToken.id}/rotate`, { graceSeconds: 60 });
      expect(rotated.status).toBe(200);
      expect(rotated.body.previous.expiresAt).not.toBeNull();
      // During the grace period both work; the old one says when it stops.
      expect((await bus.request('identity.authenticate', { token: issued.body.token })).expiresAt).toBe(rotated.body.previous.expiresAt);
      expect((await bus.request('identity.authenticate', { token: rotated.body.token })).principal.sub).toBe('ci-bot');
      // Rotating an ended token again is a conflict; rotating with no grace ends the old one at once.
      const again = await call('POST', `/api/v1/virtual-accounts/ci-bot/tokens/${rotated.body.virtualAccountToken.id}/rotate`, {});
      expect(again.status).toBe(200);
      await expect(bus.request('identity.authenticate', { token: rotated.body.token })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

      revocations.length = 0;
      const revoked = await call('DELETE', `/api/v1/virtual-accounts/ci-bot/tokens/${again.body.virtualAccountToken.id}`);
      expect(revoked.body.revokedAt).not.toBeNull();
      await expect(bus.request('identity.authenticate', { token: again.body.token })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(revocations).toEqual([{ credentialIds: [again.body.virtualAccountToken.id], principalIds: [] }]);
      expect((await call('GET', '/api/v1/virtual-accounts/ci-bot/tokens')).body.items).toHaveLength(3);
    });

    it('changes the exchange permission and deletes an account with its tokens (refused at once, announced by principal)', async () => {
      const created = await call('POST', '/api/v1/virtual-accounts', { name: 'agent-runner' });
      const issued = await call('POST', '/api/v1/virtual-accounts/agent-runner/tokens', { name: 'prod' });
      expect((await call('PATCH', '/api/v1/virtual-accounts/agent-runner', { canExchange: true })).body.canExchange).toBe(true);
      expect((await call('PATCH', '/api/v1/virtual-accounts/agent-runner', { isAdmin: true })).status).toBe(400);
      revocations.length = 0;
      expect((await call('DELETE', '/api/v1/virtual-accounts/agent-runner')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(revocations).toEqual([{ credentialIds: [issued.body.virtualAccountToken.id], principalIds: [`virtualaccount:${created.body.id}`] }]);
      await expect(bus.request('identity.authenticate', { token: issued.body.token })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      expect((await call('GET', '/api/v1/virtual-accounts/agent-runner')).status).toBe(404);
    });

    it('refuses a virtual-account token on the admin API (a service identity is never an admin)', async () => {
      await call('POST', '/api/v1/virtual-accounts', { name: 'sneaky' });
      const issued = await call('POST', '/api/v1/virtual-accounts/sneaky/tokens', {});
      expect((await call('GET', '/api/v1/users', undefined, issued.body.token)).status).toBe(403);
      expect((await call('POST', '/api/v1/api-keys', { name: 'escalate' }, issued.body.token)).status).toBe(403);
    });
  });

  describe('own API keys', () => {
    it('lets a user list, create and revoke only their own keys', async () => {
      const erin = (await call('POST', '/api/v1/api-keys', { name: 'erin', ownerEmail: 'erin@example.com' })).body;
      await call('POST', '/api/v1/api-keys', { name: 'frank', ownerEmail: 'frank@example.com' });
      const mine = await call('POST', '/api/v1/api-keys', { name: 'second' }, erin.token);
      expect(mine.status).toBe(201);
      expect(mine.body.apiKey).toMatchObject({ ownerEmail: 'erin@example.com', ownerUserId: erin.apiKey.ownerUserId, isAdmin: false });
      const listed = await call('GET', '/api/v1/api-keys', undefined, erin.token);
      expect(listed.body.items.map((k: { id: string }) => k.id).sort()).toEqual([erin.apiKey.id, mine.body.apiKey.id].sort());
      expect((await call('DELETE', `/api/v1/api-keys/${mine.body.apiKey.id}`, undefined, erin.token)).status).toBe(200);
      // Admins still see and manage every key.
      expect((await call('GET', '/api/v1/api-keys')).body.items.length).toBeGreaterThanOrEqual(3);
    });

    it("refuses a user revoking someone else's key with 404 (key-id probing)", async () => {
      const erin = (await call('POST', '/api/v1/api-keys', { name: 'erin2', ownerEmail: 'erin2@example.com' })).body;
      const frank = (await call('POST', '/api/v1/api-keys', { name: 'frank2', ownerEmail: 'frank2@example.com' })).body;
      expect((await call('DELETE', `/api/v1/api-keys/${frank.apiKey.id}`, undefined, erin.token)).status).toBe(404);
      expect(await whoAmI(frank.token)).toBe(200);
    });

    it('refuses a user minting an admin key or a key for someone else (privilege escalation)', async () => {
      const erin = (await call('POST', '/api/v1/api-keys', { name: 'erin3', ownerEmail: 'erin3@example.com' })).body;
      expect((await call('POST', '/api/v1/api-keys', { name: 'root', isAdmin: true }, erin.token)).status).toBe(403);
      expect((await call('POST', '/api/v1/api-keys', { name: 'other', ownerEmail: 'admin@portcullis.local' }, erin.token)).status).toBe(403);
      expect((await call('GET', '/api/v1/api-keys', undefined, erin.token)).body.items).toHaveLength(1);
    });
  });
});
