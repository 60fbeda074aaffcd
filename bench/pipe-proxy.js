#!/usr/bin/env node
'use strict';
// The floor when nginx is absent (and a second floor beside it): a minimal Node `http` reverse proxy
// that pipes each request to one upstream over keep-alive connections and pipes the answer back.
// No parsing, no auth, no logging: what one extra HTTP hop in Node costs at all.
//
// Env: UPSTREAM (http://127.0.0.1:<port>), PORT (0 = any). Prints `listening <port>` once ready.
const http = require('node:http');

const upstream = new URL(process.env.UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  delete headers.connection;
  const out = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  req.pipe(out);
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
