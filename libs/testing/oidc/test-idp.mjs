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
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const audience = process.env.AUDIENCE;
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
const MINT_GRANT = 'urn:portcullis:test:mint';
const browserClientId = process.env.BROWSER_CLIENT_ID;
const browserRedirectUri = process.env.BROWSER_REDIRECT_URI;
let nextLogin = { sub: 'nobody', claims: {} };
const accounts = new Map();

let keys = [JSON.parse(process.env.SIGNING_JWK)];
let jwksRequests = 0;
let provider = build();

function build() {
  const alg = keys[0].alg;
  const resourceServer = { scope: 'mcp', audience, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg, kid: keys[0].kid } } };
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
    ],
    jwks: { keys },
    scopes: ['openid', 'mcp', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'groups'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          return resourceServer;
        },
      },
    },
    // Claims the test asks for (email, groups, org_id...) go into the access token.
    extraTokenClaims: (ctx) => (ctx?.oidc?.params?.claims ? JSON.parse(ctx.oidc.params.claims) : undefined),
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ ...(accounts.get(sub) ?? {}), sub }) }),
  });
  next.registerGrantType(MINT_GRANT, mint(resourceServer), ['sub', 'claims', 'ttl', 'kind']);
  return next;
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
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jwksRequests }));
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
