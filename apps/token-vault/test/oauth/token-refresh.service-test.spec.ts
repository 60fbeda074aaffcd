import { RequestSubjects, type ResolvedCredential } from '@portcullis/contracts';
import { MetricsRegistry } from '@portcullis/telemetry';
import { OAuthCredentialService } from '../../src/oauth/connections/oauth-credential.service';
import { RefreshScheduler } from '../../src/oauth/connections/refresh.scheduler';
import { busErrorOf, OAuthHarness, UPSTREAM_URL, user } from './oauth-harness';

jest.setTimeout(60_000);

const TTL_SECONDS = 5;
const alice = user('alice');
const bob = user('bob');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readyOf(credential: ResolvedCredential): Extract<ResolvedCredential, { status: 'ready' }> {
  if (credential.status !== 'ready') throw new Error(`expected ready, got ${credential.status}`);
  return credential;
}

/** Waits until the stored token is due (half of its 5-second life gone) but still valid. */
async function untilDue(harness: OAuthHarness, expiresAt: string | null): Promise<void> {
  const wait = Date.parse(expiresAt!) - Date.now() - 1_500;
  if (wait > 0) await sleep(wait);
}

/** Upstream tokens living 5 seconds, from the real provider, across two vault replicas on one database. */
describe(`${OAuthCredentialService.name} refresh`, () => {
  const harness = new OAuthHarness();

  beforeAll(() => harness.start({ accessTokenTtlSeconds: TTL_SECONDS, replicas: 2 }));
  afterAll(() => harness.stop());
  afterEach(() => (harness.clock.offsetMs = 0));

  const refreshes = async () => (await harness.provider.tokenStats()).grants['refresh_token'] ?? 0;

  it('keeps a user connection usable across many 5-second token lifetimes', async () => {
    const server = await harness.addServer('authorization_code');
    await harness.consent(alice, server);
    const before = await refreshes();
    const tokens = new Set<string>();
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      const ready = readyOf(await harness.resolve(alice, server, { vault: tokens.size % 2 }));
      const claims = await harness.verifyBearer(ready.headers);
      expect(claims.sub).toBe('alice');
      expect(claims.exp! * 1000).toBeGreaterThan(Date.now());
      tokens.add(ready.headers['Authorization']);
      await sleep(400);
    }
    expect(tokens.size).toBeGreaterThanOrEqual(3);
    expect((await refreshes()) - before).toBeGreaterThanOrEqual(2);
    const audited = (await harness.auditOf(server)).filter((event) => event.action === 'token.refresh');
    expect(audited.length).toBe((await refreshes()) - before);
    expect(audited.every((event) => event.outcome === 'success' && event.principal?.id === alice.id)).toBe(true);
    expect((await harness.provider.tokenStats()).grantErrors['refresh_token'] ?? 0).toBe(0);
  });

  it('refreshes exactly once for 50 concurrent calls at expiry across two replicas', async () => {
    const server = await harness.addServer('authorization_code');
    await harness.consent(alice, server);
    const current = readyOf(await harness.resolve(alice, server));
    await untilDue(harness, current.expiresAt);
    const before = await refreshes();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => harness.resolve(alice, server, { vault: i % 2 })));
    expect(await refreshes()).toBe(before + 1);
    const served = new Set(answers.map((answer) => readyOf(answer).headers['Authorization']));
    // Every caller got the renewed token (none kept the old one after the lock: they re-read the row).
    expect(served.size).toBe(1);
    expect([...served][0]).not.toBe(current.headers['Authorization']);
    expect((await harness.verifyBearer(readyOf(answers[0]).headers)).sub).toBe('alice');
    // Operators see it: one successful refresh more on one of the two replicas' /metrics.
    const counted = await Promise.all(harness.vaults.map(async (vault) => refreshCount(await vault.app.get(MetricsRegistry).metrics())));
    expect(counted.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(1);
  });

  it('never loses the newest refresh token to rotation: the stored one is always the one the provider honours', async () => {
    const server = await harness.addServer('authorization_code');
    await harness.consent(alice, server);
    const seen = [await harness.storedRefreshToken(server, alice.id)];
    for (let round = 0; round < 3; round += 1) {
      const ready = readyOf(await harness.resolve(alice, server));
      await untilDue(harness, ready.expiresAt);
      await Promise.all([harness.resolve(alice, server, { vault: 0 }), harness.resolve(alice, server, { vault: 1 })]);
      seen.push(await harness.storedRefreshToken(server, alice.id));
    }
    // Rotated on every refresh...
    expect(new Set(seen).size).toBe(seen.length);
    // ...and no refresh ever presented a stale one (oidc-provider would have refused it and revoked the grant).
    expect((await harness.provider.tokenStats()).grantErrors['refresh_token'] ?? 0).toBe(0);
    expect((await harness.tokenRow(server, alice.id))!.status).toBe('active');
    // The provider agrees: the first refresh token was consumed long ago.
    const stale = await harness.providerToken({ grant_type: 'refresh_token', refresh_token: seen[0], resource: UPSTREAM_URL });
    expect(stale.body['error']).toBe('invalid_grant');
  });

  it('answers consent_required, not an error, once the provider refuses the refresh token (invalid_grant)', async () => {
    const server = await harness.addServer('authorization_code');
    await harness.consent(bob, server);
    await harness.revokeAtProvider(await harness.storedRefreshToken(server, bob.id));
    const ready = readyOf(await harness.resolve(bob, server));
    await untilDue(harness, ready.expiresAt);
    const answer = await harness.resolve(bob, server, { vault: 1 });
    expect(answer).toEqual({ status: 'consent_required', credentialKind: 'oauth2', flowId: expect.any(String), reason: 'the provider refused the refresh token' });
    const row = (await harness.tokenRow(server, bob.id))!;
    expect(row).toMatchObject({ status: 'needs_consent', sealed_access_token: null, sealed_refresh_token: null });
    expect(await harness.auditOf(server)).toContainEqual(
      expect.objectContaining({ action: 'token.refresh', outcome: 'denied', principal: { id: bob.id, kind: 'user' }, reason: 'the authorization server refused: invalid_grant' }),
    );
    const { connections } = await harness.bus.request(RequestSubjects.vaultConnectionList, { serverId: server.id });
    expect(connections).toEqual([expect.objectContaining({ principalId: bob.id, status: 'needs_consent' })]);
    // Consenting again restores the connection.
    await harness.consent(bob, server);
    expect((await harness.verifyBearer(readyOf(await harness.resolve(bob, server)).headers)).sub).toBe('bob');
  });

  it('keeps serving the current token while the provider is unreachable, backing off, and fails only once it expired', async () => {
    const server = await harness.addServer('authorization_code');
    await harness.consent(alice, server);
    const current = readyOf(await harness.resolve(alice, server));
    // The provider goes away (a closed port): the settings row is changed behind the service's back.
    await harness.sql.query(`UPDATE vault.oauth_settings SET token_url = 'http://127.0.0.1:9/token' WHERE server_id = $1`, [server.id]);
    await untilDue(harness, current.expiresAt);
    const kept = readyOf(await harness.resolve(alice, server));
    expect(kept.headers).toEqual(current.headers);
    const row = (await harness.tokenRow(server, alice.id))!;
    expect(row.refresh_failures).toBe(1);
    expect(row.retry_after!.getTime()).toBeGreaterThan(Date.now());
    // Past expiry there is nothing good left to serve.
    harness.clock.offsetMs = 10_000;
    expect((await busErrorOf(harness.resolve(alice, server))).code).toBe('UNAVAILABLE');
  });

  it('the scheduler renews due tokens, one replica per row (SKIP LOCKED), and announces them', async () => {
    const server = await harness.addServer('authorization_code');
    await harness.consent(alice, server);
    const current = readyOf(await harness.resolve(alice, server));
    await untilDue(harness, current.expiresAt);
    const before = await refreshes();
    const eventsBefore = harness.vaults.map((vault) => vault.events.length);
    const [first, second] = await Promise.all(harness.vaults.map((vault) => vault.app.get(RefreshScheduler).refreshDue()));
    // Both replicas ran a pass over all due rows (other tests' servers too), each row renewed by one of them.
    expect(first + second).toBe((await refreshes()) - before);
    expect(await refreshes()).toBeGreaterThan(before);
    // Each replica announces on its own bus here (in-process buses stand in for one NATS).
    await sleep(20);
    expect(harness.vaults.flatMap((vault, i) => vault.events.slice(eventsBefore[i]))).toContainEqual({ serverId: server.id, principalId: alice.id });
    const renewed = readyOf(await harness.resolve(alice, server));
    expect(renewed.headers).not.toEqual(current.headers);
    expect(Date.parse(renewed.expiresAt!)).toBeGreaterThan(Date.parse(current.expiresAt!));
  });

  describe('a token the upstream refused (401)', () => {
    const reportRejected = (principal: typeof alice, server: Awaited<ReturnType<OAuthHarness['addServer']>>, answer: Extract<ResolvedCredential, { status: 'ready' }>, vault = 0) =>
      harness.vaults[vault].bus.request(RequestSubjects.vaultCredentialResolve, {
        principal,
        server,
        rejected: { credentialId: answer.credentialId!, expiresAt: answer.expiresAt },
      });

    it('is renewed once however many callers on both replicas report it, then the renewed one is served', async () => {
      const server = await harness.addServer('authorization_code');
      await harness.consent(alice, server);
      const refusedUpstream = readyOf(await harness.resolve(alice, server));
      const before = await refreshes();
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => reportRejected(alice, server, refusedUpstream, i % 2)));
      expect(await refreshes()).toBe(before + 1);
      const served = new Set(answers.map((answer) => readyOf(answer).headers['Authorization']));
      expect(served.size).toBe(1);
      expect([...served][0]).not.toBe(refusedUpstream.headers['Authorization']);
      // A late report of the old token does not renew the new one again.
      await reportRejected(alice, server, refusedUpstream);
      expect(await refreshes()).toBe(before + 1);
    });

    it('answers consent_required when the refresh token is refused too', async () => {
      const server = await harness.addServer('authorization_code');
      await harness.consent(bob, server);
      await harness.revokeAtProvider(await harness.storedRefreshToken(server, bob.id));
      const answer = await reportRejected(bob, server, readyOf(await harness.resolve(bob, server)));
      expect(answer).toMatchObject({ status: 'consent_required', reason: 'the provider refused the refresh token' });
    });

    it("fetches a new client_credentials token when the server's is refused", async () => {
      const server = await harness.addServer('client_credentials');
      const grants = async () => (await harness.provider.tokenStats()).grants['client_credentials'] ?? 0;
      const first = readyOf(await harness.resolve(alice, server));
      const before = await grants();
      const renewed = readyOf(await reportRejected(bob, server, first));
      expect(await grants()).toBe(before + 1);
      expect(renewed.headers).not.toEqual(first.headers);
    });
  });

  describe('client_credentials', () => {
    it("fetches the server's own token once, serves it to every caller, and renews it when due", async () => {
      const server = await harness.addServer('client_credentials');
      const grants = async () => (await harness.provider.tokenStats()).grants['client_credentials'] ?? 0;
      const before = await grants();
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => harness.resolve(i % 2 ? alice : bob, server, { vault: i % 2 })));
      expect(await grants()).toBe(before + 1);
      expect(new Set(answers.map((a) => readyOf(a).headers['Authorization'])).size).toBe(1);
      const claims = await harness.verifyBearer(readyOf(answers[0]).headers);
      expect(claims['client_id']).toBe(harness.provider.upstreamClient!.clientId);
      expect((await harness.tokenRow(server, null))!.sealed_access_token).toMatch(/^v1\.k1\./);
      await untilDue(harness, readyOf(answers[0]).expiresAt);
      const renewed = readyOf(await harness.resolve(alice, server));
      expect(await grants()).toBe(before + 2);
      expect(renewed.headers).not.toEqual(readyOf(answers[0]).headers);
    });
  });

  describe('token_exchange', () => {
    it("exchanges the caller's IdP token at the upstream AS (RFC 8693) and caches the result per user", async () => {
      const server = await harness.addServer('token_exchange');
      const aliceJwt = await harness.provider.mintAccessToken({ sub: 'alice' });
      const bobJwt = await harness.provider.mintAccessToken({ sub: 'bob' });
      const forAlice = readyOf(await harness.resolve(alice, server, { subjectToken: aliceJwt }));
      expect((await harness.verifyBearer(forAlice.headers)).sub).toBe('alice');
      const again = readyOf(await harness.resolve(alice, server, { subjectToken: aliceJwt, vault: 1 }));
      expect(again.headers).toEqual(forAlice.headers);
      const forBob = readyOf(await harness.resolve(bob, server, { subjectToken: bobJwt }));
      expect((await harness.verifyBearer(forBob.headers)).sub).toBe('bob');
      expect(forBob.credentialId).not.toBe(forAlice.credentialId);
    });

    it('refuses a call without a subject token, and a subject token the provider did not sign', async () => {
      const server = await harness.addServer('token_exchange');
      expect((await busErrorOf(harness.resolve(alice, server))).code).toBe('FORBIDDEN');
      const real = await harness.provider.mintAccessToken({ sub: 'alice' });
      const [header, payload] = real.split('.');
      const forged = `${header}.${payload}.${Buffer.from('not-the-signature').toString('base64url')}`;
      const error = await busErrorOf(harness.resolve(alice, server, { subjectToken: forged }));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('invalid_grant');
      expect(await harness.tokenRow(server, alice.id)).toBeUndefined();
    });
  });
});

/** `portcullis_vault_oauth_events_total{action="token.refresh",outcome="success"}` in a scrape. */
function refreshCount(scrape: string): number {
  const line = scrape.split('\n').find((row) => row.startsWith('portcullis_vault_oauth_events_total{') && row.includes('action="token.refresh"') && row.includes('outcome="success"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
