// A real OpenID provider (panva/oidc-provider) for tests, run as its own
// process because oidc-provider is ESM-only. Started by `startOidcProvider()`
// in libs/testing/src/oidc-provider.ts; never used in production.
//
// Input (environment): PORT, AUDIENCE (the resource its access tokens are for),
// CLIENT_ID, CLIENT_SECRET, SIGNING_JWK (private JWK with kid and alg; the
// harness owns the key so tests can also forge tokens "signed by the IdP").
// Besides the standard endpoints it serves, for tests only:
//   POST /test/rotate  body: a new private JWK → becomes the signing key, the old one stays published
//   GET  /test/stats   → { jwksRequests }
// and a token grant `urn:portcullis:test:mint` (client-authenticated) with
// `sub`, `claims` (JSON object), `ttl` (seconds), `kind` (`access_token` or `id_token`).
// With BROWSER_CLIENT_ID and BROWSER_REDIRECT_URI it also has a public client
// (no secret, PKCE S256 required) for the authorization code flow, whose
// interactions finish on their own as the account set by
//   POST /test/next-login  body: { sub, claims } (claims go into the ID token)
// With UPSTREAM_CLIENT_ID, UPSTREAM_CLIENT_SECRET, UPSTREAM_REDIRECT_URI and
// UPSTREAM_RESOURCE it is also an upstream authorization server for the vault:
// a confidential client (UPSTREAM_AUTH_METHOD, default client_secret_basic)
// with authorization_code (always issuing a refresh token), refresh_token
// (rotating), client_credentials and RFC 8693 token exchange (the subject token
// must be a JWT this provider signed); its access tokens are JWTs for
// UPSTREAM_RESOURCE (RFC 8707) living UPSTREAM_ACCESS_TOKEN_TTL seconds
// (default 300). Revocation (RFC 7009) and open dynamic client registration
// (RFC 7591) are enabled. GET /test/stats then also
// counts token-endpoint requests by grant type: { grants, grantErrors, revocations, registrations }.
import { createServer } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const audience = process.env.AUDIENCE;
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
const MINT_GRANT = 'urn:portcullis:test:mint';
const browserClientId = process.env.BROWSER_CLIENT_ID;
const browserRedirectUri = process.env.BROWSER_REDIRECT_URI;
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const upstream = process.env.UPSTREAM_CLIENT_ID
  ? {
      clientId: process.env.UPSTREAM_CLIENT_ID,
      clientSecret: process.env.UPSTREAM_CLIENT_SECRET,
      redirectUri: process.env.UPSTREAM_REDIRECT_URI,
      resource: process.env.UPSTREAM_RESOURCE,
      authMethod: process.env.UPSTREAM_AUTH_METHOD || 'client_secret_basic',
      ttl: Number(process.env.UPSTREAM_ACCESS_TOKEN_TTL || 300),
    }
  : undefined;
// Token-endpoint requests by grant type, answered (grants) or refused (grantErrors).
const grants = {};
const grantErrors = {};
let revocations = 0;
let registrations = 0;
let nextLogin = { sub: 'nobody', claims: {} };
const accounts = new Map();

let keys = [JSON.parse(process.env.SIGNING_JWK)];
let jwksRequests = 0;
let provider = build();

function build() {
  const alg = keys[0].alg;
  const resourceServer = { scope: 'mcp', audience, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg, kid: keys[0].kid } } };
  const upstreamResourceServer = upstream && { ...resourceServer, audience: upstream.resource, accessTokenTTL: upstream.ttl };
  const next = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials', MINT_GRANT],
        redirect_uris: [],
        response_types: [],
        id_token_signed_response_alg: alg,
      },
      ...(browserClientId
        ? [
            {
              client_id: browserClientId,
              token_endpoint_auth_method: 'none',
              grant_types: ['authorization_code'],
              response_types: ['code'],
              redirect_uris: [browserRedirectUri],
              id_token_signed_response_alg: alg,
            },
          ]
        : []),
      ...(upstream
        ? [
            {
              client_id: upstream.clientId,
              client_secret: upstream.clientSecret,
              token_endpoint_auth_method: upstream.authMethod,
              grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE_GRANT],
              response_types: ['code'],
              redirect_uris: [upstream.redirectUri],
              id_token_signed_response_alg: alg,
            },
          ]
        : []),
    ],
    jwks: { keys },
    // Registered clients (RFC 7591) get ID tokens signed with the one algorithm this provider has a key for.
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: alg },
    scopes: ['openid', 'mcp', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'groups'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      // An upstream AS offers dynamic client registration (RFC 7591), open to anyone, as many do.
      registration: { enabled: Boolean(upstream) },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => (upstream && client?.clientId === upstream.clientId ? upstream.resource : audience),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (upstream && resource === upstream.resource) return upstreamResourceServer;
          if (resource !== audience) throw new errors.InvalidTarget();
          return resourceServer;
        },
      },
    },
    // A client allowed the refresh_token grant (the upstream client, registered ones) always gets one, rotating on every use.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    // Claims the test asks for (email, groups, org_id...) go into the access token.
    extraTokenClaims: (ctx) => (ctx?.oidc?.params?.claims ? JSON.parse(ctx.oidc.params.claims) : undefined),
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ ...(accounts.get(sub) ?? {}), sub }) }),
  });
  next.registerGrantType(MINT_GRANT, mint(resourceServer), ['sub', 'claims', 'ttl', 'kind']);
  if (upstream) {
    next.registerGrantType(TOKEN_EXCHANGE_GRANT, tokenExchange(upstreamResourceServer), [
      'subject_token',
      'subject_token_type',
      'requested_token_type',
      'resource',
      'audience',
      'scope',
    ]);
  }
  next.use(async (ctx, nextMiddleware) => {
    await nextMiddleware();
    if (ctx.oidc?.route === 'token' && ctx.oidc.params?.grant_type) {
      const counts = ctx.status < 300 ? grants : grantErrors;
      counts[ctx.oidc.params.grant_type] = (counts[ctx.oidc.params.grant_type] ?? 0) + 1;
    }
    if (ctx.oidc?.route === 'revocation' && ctx.status < 300) revocations += 1;
    if (ctx.oidc?.route === 'registration' && ctx.status === 201) registrations += 1;
  });
  return next;
}

const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi']);
const publicJwks = () => createLocalJWKSet({ keys: keys.map((key) => Object.fromEntries(Object.entries(key).filter(([name]) => !PRIVATE_JWK_MEMBERS.has(name)))) });

// RFC 8693: a JWT this provider signed (the user's IdP token) becomes an access token for the upstream resource.
function tokenExchange(upstreamResourceServer) {
  return async (ctx) => {
    const { params, client, provider: p } = ctx.oidc;
    const types = ['urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];
    if (!params.subject_token || !types.includes(params.subject_token_type)) throw new errors.InvalidRequest('subject_token and a supported subject_token_type are required');
    if (params.resource && params.resource !== upstream.resource) throw new errors.InvalidTarget();
    let subject;
    try {
      ({ payload: subject } = await jwtVerify(params.subject_token, publicJwks(), { issuer }));
    } catch {
      throw new errors.InvalidGrant('subject token refused');
    }
    if (typeof subject.sub !== 'string') throw new errors.InvalidGrant('subject token has no sub');
    const token = new p.AccessToken({ client, accountId: subject.sub, scope: 'mcp', expiresIn: upstream.ttl });
    token.resourceServer = new p.ResourceServer(upstream.resource, upstreamResourceServer);
    ctx.oidc.entity('AccessToken', token);
    ctx.body = {
      access_token: await token.save(),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: 'mcp',
    };
  };
}

function mint(resourceServer) {
  return async (ctx) => {
    const { params, client, provider: p } = ctx.oidc;
    if (!params.sub) throw new errors.InvalidRequest('sub is required');
    const ttl = params.ttl ? Number(params.ttl) : 300;
    if (params.kind === 'id_token') {
      const idToken = new p.IdToken({ sub: params.sub }, { ctx });
      idToken.scope = 'openid';
      for (const [name, value] of Object.entries(params.claims ? JSON.parse(params.claims) : {})) idToken.set(name, value);
      ctx.body = { id_token: await idToken.issue({ use: 'idtoken' }) };
      return;
    }
    const token = new p.AccessToken({ client, accountId: params.sub, scope: 'mcp', expiresIn: ttl });
    token.resourceServer = new p.ResourceServer(audience, { ...resourceServer, accessTokenTTL: ttl });
    ctx.oidc.entity('AccessToken', token);
    ctx.body = { access_token: await token.save(), expires_in: token.expiration, token_type: 'Bearer' };
  };
}

// Signs in as `nextLogin` and grants what the client asked for, without any page.
async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: nextLogin.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
  if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(details.prompt.details.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function readBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/test/rotate') {
      keys = [JSON.parse(await readBody(req)), ...keys];
      provider = build();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && req.url === '/test/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jwksRequests, grants, grantErrors, revocations, registrations }));
      return;
    }
    if (req.method === 'POST' && req.url === '/test/next-login') {
      nextLogin = JSON.parse(await readBody(req));
      accounts.set(nextLogin.sub, nextLogin.claims ?? {});
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      await finishInteraction(req, res);
      return;
    }
    if (req.url === '/jwks') jwksRequests += 1;
    provider.callback()(req, res);
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`test-idp listening on ${issuer}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
