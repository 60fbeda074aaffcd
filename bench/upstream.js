#!/usr/bin/env node
'use strict';
// The benchmark's upstream: a real MCP server (SDK `McpServer` over `StreamableHTTPServerTransport`)
// with one `echo` tool, in its own process so it does not share an event loop with the load generator.
//
// Default, stateless mode (`sessionIdGenerator: undefined`) with `enableJsonResponse: true`: every POST gets
// a fresh server + transport (the SDK refuses to reuse a stateless transport) and a plain JSON answer, so
// no session set-up is needed and no SSE framing is in the floor. UPSTREAM_MODE=stateful keeps one server +
// transport per MCP session instead (about half the upstream CPU per call; the client initializes first).
//
// With UPSTREAM_API_KEY set, a request without `X-Api-Key: <that value>` gets 401: this proves the gateway
// injected the credential from its vault (the benchmark's agent never holds it).
//
// OAuth mode (UPSTREAM_OAUTH_ISSUER and UPSTREAM_OAUTH_JWKS_URI set, UPSTREAM_PORT chosen by the benchmark so
// the IdP knows this server's URL before it starts): a request without `Authorization: Bearer <JWT>` signed
// by that issuer, with `aud` = this server's URL (`http://127.0.0.1:<port>/mcp`, the RFC 8707 resource), gets
// 401 — the gateway must inject the user's own upstream token from its vault.
//
// Prints `listening <port>` on stdout once ready. Loopback only.
const { randomUUID } = require('node:crypto');
const { createServer } = require('node:http');
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { z } = require('zod');

function echoServer() {
  const mcp = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  mcp.registerTool('echo', { description: 'Returns its message unchanged', inputSchema: { message: z.string() } }, async ({ message }) => ({
    content: [{ type: 'text', text: message }],
  }));
  return mcp;
}

const apiKey = process.env.UPSTREAM_API_KEY;
const oauthIssuer = process.env.UPSTREAM_OAUTH_ISSUER;
const oauthJwksUri = process.env.UPSTREAM_OAUTH_JWKS_URI;
const port = Number(process.env.UPSTREAM_PORT ?? process.env.PORT ?? 0);
if ((oauthIssuer === undefined) !== (oauthJwksUri === undefined)) throw new Error('set both UPSTREAM_OAUTH_ISSUER and UPSTREAM_OAUTH_JWKS_URI, or neither');
if (oauthIssuer !== undefined && port === 0) throw new Error('OAuth mode needs UPSTREAM_PORT: the token audience is this server\'s URL');

/**
 * OAuth mode: verified tokens are cached by their string until their `exp`, so that after the first call a
 * token costs one Map lookup, as the API-key check does: the upstream's own CPU per call stays close to the
 * API-key upstream's, and what differs between the two gateway scenarios is the gateway's work.
 */
function bearerVerifier(issuer, jwksUri, audience) {
  let jose;
  let jwks;
  const verified = new Map();
  const MAX_CACHED = 10_000;
  return async (authorization) => {
    if (typeof authorization !== 'string' || !/^Bearer /i.test(authorization)) return false;
    const token = authorization.slice(7).trim();
    const now = Date.now();
    const expiresAt = verified.get(token);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return true;
      verified.delete(token);
    }
    jose ??= await import('jose');
    jwks ??= jose.createRemoteJWKSet(new URL(jwksUri));
    try {
      const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience, requiredClaims: ['exp'] });
      if (verified.size >= MAX_CACHED) verified.clear();
      verified.set(token, payload.exp * 1000);
      return true;
    } catch {
      return false;
    }
  };
}
const verifyBearer = oauthIssuer === undefined ? null : bearerVerifier(oauthIssuer, oauthJwksUri, `http://127.0.0.1:${port}/mcp`);
const stateful = process.env.UPSTREAM_MODE === 'stateful';
const sessions = new Map();

/** Stateful mode (UPSTREAM_MODE=stateful): one server + transport per MCP session, as long-lived servers run. */
async function handleStateful(req, res) {
  const id = req.headers['mcp-session-id'];
  if (typeof id === 'string') {
    const transport = sessions.get(id);
    if (!transport) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
      return;
    }
    await transport.handleRequest(req, res);
    return;
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: randomUUID,
    enableJsonResponse: true,
    onsessioninitialized: (sessionId) => void sessions.set(sessionId, transport),
    onsessionclosed: (sessionId) => void sessions.delete(sessionId),
  });
  await echoServer().connect(transport);
  await transport.handleRequest(req, res);
}

async function handle(req, res) {
  if (apiKey && req.headers['x-api-key'] !== apiKey) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Unauthorized"},"id":null}');
    return;
  }
  if (verifyBearer && !(await verifyBearer(req.headers.authorization))) {
    res
      .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' })
      .end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Unauthorized"},"id":null}');
    return;
  }
  if (!req.url.startsWith('/mcp')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32000,"message":"Not found"},"id":null}');
    return;
  }
  if (req.method !== 'POST' && !stateful) {
    // Stateless: no server-to-client stream and no session to end.
    res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32000,"message":"Method not allowed"},"id":null}');
    return;
  }
  if (stateful) return handleStateful(req, res);
  const server = echoServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    transport.close().catch(() => undefined);
    server.close().catch(() => undefined);
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

const http = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":null}');
    else res.destroy();
  });
});
http.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${http.address().port}\n`);
});
process.on('SIGTERM', () => {
  http.closeAllConnections();
  http.close(() => process.exit(0));
});
