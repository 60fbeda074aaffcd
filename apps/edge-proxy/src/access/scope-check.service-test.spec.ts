import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import type { ServerTarget } from '@portcullis/contracts';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { eventually, initializeRequest, MCP_HEADERS, principal, PUBLIC_URL, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { RequiredScopes } from './scope-check';

const IDP_TOKEN_WITH_SCOPES = 'scopes_test_idp_token_with_files_scopes';
const IDP_TOKEN_READ_ONLY = 'scopes_test_idp_token_read_only_aaaaaaa';
const IDP_TOKEN_NO_SCOPES = 'scopes_test_idp_token_no_scopes_bbbbbbb';
const API_KEY = 'pcl_scopes_test_api_key_ccccccccccccccc';

/**
 * MCP 2025-11-25 authorization at a real edge (stand-in identity and
 * registry on the bus, a real upstream): required scopes in RFC 9728
 * metadata and the 401 challenge, and RFC 6750 §3.1 insufficient_scope.
 */
describe(`${RequiredScopes.name} at the edge`, () => {
  let edge: RunningEdge;
  let echo: EchoMcpServer;
  let files: ServerTarget;
  const reader = principal({ sub: 'reader', scopes: ['files.read'] });

  beforeAll(async () => {
    echo = await startEchoMcpServer();
    edge = await startEdge();
    files = edge.directory.addServer(target('files', echo.url, { requiredScopes: ['files.read', 'files.write'] }));
    edge.directory.addServer(target('open', echo.url));
    edge.directory.addVirtualServer('suite', [{ name: 'suite_echo', tool: 'echo', server: files }], { requiredScopes: ['suite:use'] });
    edge.directory.addToken(IDP_TOKEN_WITH_SCOPES, principal({ sub: 'writer', scopes: ['files.read', 'files.write', 'suite:use'] }));
    edge.directory.addToken(IDP_TOKEN_READ_ONLY, reader);
    edge.directory.addToken(IDP_TOKEN_NO_SCOPES, principal({ sub: 'nobody', scopes: [] }));
    edge.directory.addToken(API_KEY, principal({ sub: 'key-holder' }));
  });

  afterAll(async () => {
    await edge?.close();
    await echo?.close();
  });

  const initialize = (slug: string, token?: string) =>
    fetch(edge.mcpUrl(slug), { method: 'POST', headers: { ...MCP_HEADERS, ...(token && { authorization: `Bearer ${token}` }) }, body: initializeRequest() });
  const metadata = async (slug: string) => (await fetch(`${edge.baseUrl}/.well-known/oauth-protected-resource/mcp/${slug}`)).json() as Promise<Record<string, unknown>>;

  describe('a caller whose identity-provider token grants every required scope', () => {
    it('reaches the upstream', async () => {
      expect((await initialize('files', IDP_TOKEN_WITH_SCOPES)).status).toBe(200);
      expect((await initialize('suite', IDP_TOKEN_WITH_SCOPES)).status).toBe(200);
    });
  });

  describe('a caller whose token lacks a required scope', () => {
    it('gets 403 insufficient_scope with every required scope and the metadata URL, before anything is forwarded', async () => {
      const vaultCallsBefore = edge.directory.credentialRequests.length;
      const answer = await initialize('files', IDP_TOKEN_READ_ONLY);
      expect(answer.status).toBe(403);
      expect(answer.headers.get('www-authenticate')).toBe(
        `Bearer error="insufficient_scope", scope="files.read files.write", resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/files", error_description="The access token lacks a scope this MCP server requires"`,
      );
      expect(await answer.json()).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32000, message: "Forbidden: the token lacks scope(s) MCP server 'files' requires: files.write", data: { code: 'insufficient_scope', requiredScopes: ['files.read', 'files.write'], missingScopes: ['files.write'] } },
      });
      // No credential was fetched for the upstream: the request stopped at the edge.
      expect(edge.directory.credentialRequests.length).toBe(vaultCallsBefore);
      await eventually(() => edge.audit.some((event) => event.principal?.id === reader.id && event.outcome === 'denied'));
      expect(edge.audit.find((event) => event.principal?.id === reader.id)).toMatchObject({ action: 'access.denied', server: 'files', reason: 'insufficient_scope', method: 'initialize' });
    });

    it('is refused on a GET event stream too, and with no scope at all', async () => {
      const stream = await fetch(edge.mcpUrl('files'), { headers: { accept: 'text/event-stream', authorization: `Bearer ${IDP_TOKEN_READ_ONLY}` } });
      expect(stream.status).toBe(403);
      expect(extractWWWAuthenticateParams(stream)).toMatchObject({ error: 'insufficient_scope', scope: 'files.read files.write' });
      expect((await initialize('files', IDP_TOKEN_NO_SCOPES)).status).toBe(403);
    });

    it('is refused on a virtual server with its own required scopes', async () => {
      const answer = await initialize('suite', IDP_TOKEN_READ_ONLY);
      expect(answer.status).toBe(403);
      expect(extractWWWAuthenticateParams(answer)).toMatchObject({ error: 'insufficient_scope', scope: 'suite:use' });
    });
  });

  it('does not scope-limit a gateway API key (not scope-limited: roles govern it)', async () => {
    expect((await initialize('files', API_KEY)).status).toBe(200);
  });

  it('lets a scope-limited token without scopes use a server that requires none', async () => {
    expect((await initialize('open', IDP_TOKEN_NO_SCOPES)).status).toBe(200);
  });

  describe('the 401 challenge', () => {
    it('names the required scopes, so a stock SDK client asks its authorization server for them', async () => {
      const anonymous = await initialize('files');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/files", scope="files.read files.write"`);
      const params = extractWWWAuthenticateParams(await initialize('files', 'not-a-known-token'));
      expect(params).toEqual({ resourceMetadataUrl: new URL(`${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/files`), scope: 'files.read files.write', error: 'invalid_token' });
      expect(extractWWWAuthenticateParams(await initialize('suite'))).toMatchObject({ scope: 'suite:use' });
    });

    it('names no scope for a server that requires none, nor for a slug that names nothing', async () => {
      expect((await initialize('open')).headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/open"`);
      expect((await initialize('no-such-server')).headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/no-such-server"`);
    });

    it('asks the registry about a made-up slug once, not on every anonymous probe', async () => {
      const before = edge.bus.requested.filter((subject) => subject.endsWith('registry.resolve')).length;
      for (let i = 0; i < 5; i++) await initialize('probe-slug');
      expect(edge.bus.requested.filter((subject) => subject.endsWith('registry.resolve')).length - before).toBe(1);
    });
  });

  describe('protected resource metadata', () => {
    it('lists the required scopes as scopes_supported', async () => {
      expect(await metadata('files')).toMatchObject({ resource: `${PUBLIC_URL}/mcp/files`, scopes_supported: ['files.read', 'files.write'] });
      expect(await metadata('suite')).toMatchObject({ scopes_supported: ['suite:use'] });
    });

    it('has no scopes_supported for a server that requires none, or an unknown slug', async () => {
      expect(await metadata('open')).not.toHaveProperty('scopes_supported');
      expect(await metadata('unknown-slug')).not.toHaveProperty('scopes_supported');
    });
  });
});
