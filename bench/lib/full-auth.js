'use strict';
// The "gateway, full auth" scenario's set-up (issue 8): the caller holds only an access token (JWT) from a
// real IdP, the upstream accepts only that user's own OAuth token, which the gateway takes from its vault
// after a one-time consent; RBAC and audit are on (all-in-one always audits).
//
//   test IdP (libs/testing startOidcProvider, a real oidc-provider child process) plays three parts:
//     - the caller's identity provider: it mints the caller's access token (aud `{PUBLIC_URL}/mcp`);
//     - the browser login of the gateway's own pages (its public PKCE client, `{PUBLIC_URL}/login/callback`);
//     - the upstream's authorization server (a confidential client, `{PUBLIC_URL}/oauth/callback`,
//       tokens with aud = the OAuth upstream's URL).
//   OAuth upstream: a second bench/upstream.js that refuses any request without a valid Bearer JWT of that
//     issuer for its own URL.
//
// The consent is done once, as a browser would: `/connect/{flowId}` → `/login` (all-in-one only) → the IdP (signs in as the same
// subject, so identity links the browser session to the same user as the caller's JWT) → back to the
// `/connect` page with the session cookie → the IdP's authorization → `/oauth/callback` (the vault stores the
// user's tokens). Then the measured calls carry only the caller's JWT.
const { join } = require('node:path');
const { request } = require('undici');
const { admin, grantUse, testingKit } = require('./gateway');
const { freePort, startListeningScript } = require('./processes');

const USER_SUBJECT = 'bench-user-0001';
const USER_EMAIL = 'bench-user@example.com';
const SLUG = 'bench-oauth-echo';

/**
 * Starts the test IdP and the OAuth upstream, registers both with the gateway, gives the user the `user`
 * role, mints the caller's token and completes the consent. Returns what the scenario needs; `children`
 * (things with `stop()`) must be stopped by the caller, also when this throws (they are pushed as they start).
 */
async function setupFullAuth(gateway, { upstreamMode, children, log }) {
  const testing = testingKit();
  const edge = gateway.edgeUrl;
  // The upstream's URL is the IdP's RFC 8707 resource (the `aud` of the tokens it issues for the upstream),
  // so its port is chosen before either starts.
  const upstreamPort = await freePort();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
  const audience = `${edge}/mcp`;

  log('full auth: starting the test IdP (oidc-provider)');
  const idp = await testing.startOidcProvider({
    audience,
    browserRedirectUri: `${edge}/login/callback`,
    // One hour: no refresh happens while measuring (a run lasts minutes).
    upstream: { redirectUri: `${edge}/oauth/callback`, resource: upstreamUrl, accessTokenTtlSeconds: 3600 },
  });
  children.push({ stop: () => idp.stop() });

  log('full auth: starting the OAuth upstream (bench/upstream.js, Bearer JWT of the IdP required)');
  const upstream = await startListeningScript('oauth-upstream', join(__dirname, '..', 'upstream.js'), {
    UPSTREAM_PORT: String(upstreamPort),
    UPSTREAM_OAUTH_ISSUER: idp.issuer,
    UPSTREAM_OAUTH_JWKS_URI: idp.jwksUri,
    UPSTREAM_MODE: upstreamMode,
  });
  children.push(upstream);
  const refused = await request(upstreamUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  await refused.body.dump();
  if (refused.statusCode !== 401) throw new Error(`the OAuth upstream answered ${refused.statusCode} to a request without a token (expected 401)`);

  log('full auth: registering the IdP, the oauth2 server and the role');
  await admin(gateway, 'POST', '/api/v1/identity-providers', {
    name: 'bench-idp',
    issuer: idp.issuer,
    discoveryUrl: idp.discoveryUrl,
    audiences: [audience],
    browserLogin: { clientId: idp.browserClientId },
  });
  const client = idp.upstreamClient;
  await admin(gateway, 'POST', '/api/v1/servers', {
    slug: SLUG,
    name: 'bench OAuth echo',
    url: upstreamUrl,
    authType: 'oauth2',
    oauth: {
      grantType: 'authorization_code',
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      authorizationUrl: `${idp.issuer}/auth`,
      tokenUrl: `${idp.issuer}/token`,
      issuer: idp.issuer,
      scopes: ['mcp'],
      tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
    },
  });
  // RBAC: the IdP user, named by the e-mail claim of their token.
  await grantUse(gateway, SLUG, USER_EMAIL);

  const callerToken = await idp.mintAccessToken({ sub: USER_SUBJECT, claims: { email: USER_EMAIL }, ttlSeconds: 3600 });
  const asCaller = { authorization: `Bearer ${callerToken}` };

  log('full auth: consenting once, as a browser would');
  const before = await connectionStatus(edge, asCaller);
  if (before.status === 'authenticated' || typeof before.url !== 'string') throw new Error(`expected a consent URL before consenting, got ${JSON.stringify(before)}`);
  await consentInBrowser(edge, idp, testing.followAuthorization, before.url);
  const after = await connectionStatus(edge, asCaller);
  if (after.status !== 'authenticated') throw new Error(`the connection is ${JSON.stringify(after)} after consenting (expected authenticated)`);

  return { slug: SLUG, path: `/mcp/${SLUG}`, headers: asCaller, upstream, idp, userEmail: USER_EMAIL };
}

async function connectionStatus(edge, headers) {
  const { statusCode, body } = await request(`${edge}/me/connections/${SLUG}/authorize`, { headers });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`GET /me/connections/${SLUG}/authorize answered ${statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/**
 * The browser's part, with a cookie jar for the gateway's origin: the consent page sends an unsigned-in
 * browser to `/login`, which (an IdP has browser login) sends it to the IdP; the IdP signs the same subject in
 * and returns to `/login/callback` (session cookie), which returns to the consent page; that one sends it to
 * the IdP as the upstream's authorization server, which returns to `/oauth/callback` with the code.
 */
async function consentInBrowser(edge, idp, followAuthorization, connectUrl) {
  const jar = new Map();
  const get = async (url) => {
    const response = await fetch(new URL(url, edge), { redirect: 'manual', headers: jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {} });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      const value = pair.slice(index + 1).trim();
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, index).trim());
      else jar.set(pair.slice(0, index).trim(), value);
    }
    const text = await response.text();
    return { status: response.status, location: response.headers.get('location'), text };
  };
  const redirect = (step, answer) => {
    if (answer.status < 300 || answer.status >= 400 || !answer.location) throw new Error(`${step} answered ${answer.status} without a redirect: ${answer.text.slice(0, 300)}`);
    return new URL(answer.location, edge).toString();
  };

  // all-in-one sends a signed-out browser to its `/login` page first (which offers the API-key form and sends it
  // on to the IdP); the edge-proxy alone sends it straight to the IdP's browser login.
  const signIn = redirect('the consent page (signed out)', await get(connectUrl));
  const signInUrl = new URL(signIn);
  if (!signInUrl.pathname.startsWith('/login') && !signIn.startsWith(`${idp.issuer}/`)) {
    throw new Error(`the consent page sent a signed-out browser to ${signInUrl.origin}${signInUrl.pathname}, neither /login nor the IdP`);
  }
  const idpLogin = signIn.startsWith(`${idp.issuer}/`) ? signIn : redirect('/login', await get(signIn));
  if (!idpLogin.startsWith(`${idp.issuer}/`)) throw new Error(`/login sent the browser to ${new URL(idpLogin).origin}, not the IdP`);
  await idp.setNextLogin({ sub: USER_SUBJECT, claims: { email: USER_EMAIL } });
  const loginCallback = await followAuthorization(idpLogin, `${edge}/login/callback`);
  const backToConsent = redirect('/login/callback', await get(loginCallback.toString()));
  if (jar.size === 0) throw new Error('/login/callback set no session cookie');

  const provider = redirect('the consent page (signed in)', await get(backToConsent));
  if (!provider.startsWith(`${idp.issuer}/`)) throw new Error(`the consent page sent the browser to ${new URL(provider).origin}, not the upstream's authorization server`);
  await idp.setNextLogin({ sub: USER_SUBJECT, claims: { email: USER_EMAIL } });
  const oauthCallback = await followAuthorization(provider, `${edge}/oauth/callback`);
  const connected = await get(oauthCallback.toString());
  if (connected.status !== 200) throw new Error(`/oauth/callback answered ${connected.status}: ${connected.text.slice(0, 300)}`);
}

module.exports = { setupFullAuth };
