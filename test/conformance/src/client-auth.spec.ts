import { join } from 'node:path';
import { ClientScenarioResult, listClientScenarios, runClientScenarios } from './conformance-runner';

/** The spec versions whose auth scenarios must pass (draft and extension scenarios are not in the `auth` suite). */
const SPEC_VERSIONS = ['2025-06-18', '2025-11-25'];

/** Scenarios the vault's OAuth client is known to fail, each with why. Keep it short and true: a scenario that passes must leave this list. */
const EXPECTED_FAILURES: Record<string, string> = {};

/** Scenarios where the suite expects the client to give up with an error, not finish its session. */
const CLIENT_GIVES_UP: Record<string, string> = {
  'auth/scope-retry-limit': 'every upscoped token is refused (403); the client steps up once, then fails the call',
};

/** Per client process: it loads the vault's build and the SDK, and the suite starts all scenarios at once. */
const CLIENT_TIMEOUT_MS = 90_000;

/**
 * The MCP conformance suite's client auth scenarios (`conformance client
 * --suite auth`, Node 22) against a client command built on the vault's
 * upstream OAuth client (auth-client.ts, run under the project's Node by
 * auth-client-launcher.js): discovery from the 401 (RFC 9728, RFC 8414 /
 * OIDC), a Client ID Metadata Document URL as client_id, RFC 7591
 * registration or a pre-registered client, PKCE S256, RFC
 * 8707 resource, token endpoint auth basic/post/none, scope selection and
 * step-up.
 */
describe('MCP conformance: client auth scenarios against the vault OAuth client', () => {
  let expected: string[];
  let results: Map<string, ClientScenarioResult>;

  beforeAll(async () => {
    const listed = await listClientScenarios();
    expected = [...listed].filter(([name, versions]) => name.startsWith('auth/') && versions.some((version) => SPEC_VERSIONS.includes(version))).map(([name]) => name);
    results = await runClientScenarios(`${process.execPath} ${join(__dirname, 'auth-client-launcher.js')}`, 'auth', CLIENT_TIMEOUT_MS);
  }, 240_000);

  it(`runs every ${SPEC_VERSIONS.join(' and ')} auth scenario the suite lists`, () => {
    expect(expected.length).toBeGreaterThanOrEqual(14);
    expect(expected.filter((name) => !results.has(name))).toEqual([]);
  });

  it('passes every scenario but the expected failures (no failed or warning check)', () => {
    const failed = expected.filter((name) => !EXPECTED_FAILURES[name] && !results.get(name)?.passed).map((name) => `${name}: ${results.get(name)?.failures.join('; ')}\n${results.get(name)?.stderr}`);
    expect(failed).toEqual([]);
  });

  it('still fails each expected failure (the list is not stale)', () => {
    const stale = Object.keys(EXPECTED_FAILURES).filter((name) => results.get(name)?.passed !== false);
    expect(stale).toEqual([]);
  });

  it('finishes its MCP session with the token (lists tools, calls one) wherever the scenario does not expect it to give up', () => {
    const unfinished = expected.filter((name) => !CLIENT_GIVES_UP[name] && !/^listed 1 tool\(s\) after [12] authorization\(s\)$/m.test(results.get(name)?.stdout ?? '')).map((name) => `${name}: ${results.get(name)?.stderr}`);
    expect(unfinished).toEqual([]);
  });

  it('gives up on a server that refuses every upscoped token after one step-up (at most 2 authorizations)', () => {
    const retryLimit = results.get('auth/scope-retry-limit');
    expect(retryLimit?.passed).toBe(true);
    expect(retryLimit?.stderr).toContain('insufficient_scope');
  });
});
