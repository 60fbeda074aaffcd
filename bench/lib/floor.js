'use strict';
// The floor: a plain HTTP reverse-proxy hop in front of the upstream, with no MCP logic at all.
// nginx when /usr/sbin/nginx exists (Debian `nginx-light`), and always a minimal Node `http` pipe.
const { existsSync } = require('node:fs');
const { mkdir, writeFile } = require('node:fs/promises');
const { connect } = require('node:net');
const { join } = require('node:path');
const { Child, freePort, sleep, startListeningScript } = require('./processes');

const NGINX = '/usr/sbin/nginx';

function nginxAvailable() {
  return existsSync(NGINX);
}

/** nginx with one worker (the gateway is one Node process), keep-alive both ways, no buffering, no access log. */
async function startNginx(upstreamPort, workDir) {
  const dir = join(workDir, 'nginx');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream mcp { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    location / {
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child = new Child('nginx', NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {});
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (!child.running()) throw new Error(`nginx exited:\n${child.output}`);
    if (Date.now() > deadline) {
      await child.stop('SIGKILL');
      throw new Error(`nginx did not listen on ${port}:\n${child.output}`);
    }
    await sleep(50);
  }
  child.port = port;
  // SIGQUIT is nginx's graceful stop; SIGTERM is its fast stop, which is what we want.
  return child;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startPipeProxy(upstreamPort) {
  return startListeningScript('node-pipe-proxy', join(__dirname, '..', 'pipe-proxy.js'), { UPSTREAM: `http://127.0.0.1:${upstreamPort}` });
}

module.exports = { nginxAvailable, startNginx, startPipeProxy };
