import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { MetricsRegistry } from '@portcullis/telemetry';
import { LoopbackHttpServer, serveOnLoopback } from '@portcullis/testing';
import type { EdgeProxyModuleOptions } from '../edge-proxy.options';
import { target } from '../../test/edge-harness';
import { UpstreamClient } from './upstream.client';

/**
 * Event streams (GET) and calls (POST, DELETE) go through separate pools:
 * undici gives a request the first free connection of its pool's list, so
 * calls sharing a pool with many open streams would step over each of them.
 */
describe(`${UpstreamClient.name} pools`, () => {
  let upstream: LoopbackHttpServer;
  let url: string;
  const openStreams: ServerResponse[] = [];
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    upstream = await serveOnLoopback(async (req: IncomingMessage, res: ServerResponse) => {
      if (req.method === 'GET') {
        // An event stream that stays open until the test ends.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(': open\n\n');
        openStreams.push(res);
        return;
      }
      for await (const chunk of req) void chunk;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
    upstream.server.on('connection', (socket: Socket) => sockets.add(socket));
    url = `${upstream.origin}/mcp`;
  });

  afterAll(async () => {
    await upstream.close();
  });

  it('keeps open event streams out of the pool calls are sent through, and reports both pools as a metric', async () => {
    const metrics = new MetricsRegistry();
    const client = new UpstreamClient({ outboundAllowPrivate: true } as EdgeProxyModuleOptions, metrics);
    const server = target('pools', url, { authType: 'none' });
    try {
      const streams = [];
      for (let i = 0; i < 3; i++) {
        const stream = await client.send(server, { method: 'GET', headers: { accept: 'text/event-stream' }, signal: new AbortController().signal });
        expect(stream.statusCode).toBe(200);
        streams.push(stream);
      }
      for (let i = 0; i < 5; i++) {
        const answered = await client.send(server, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: new AbortController().signal });
        expect(await answered.body.json()).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
      }
      // Three streams on three connections of their own pool; the calls on the other connections, in the other pool.
      expect(openStreams).toHaveLength(3);
      const { calls, streams: streaming } = client.connections();
      expect(streaming).toBe(3);
      expect(calls).toBeGreaterThanOrEqual(1);
      expect(calls + streaming).toBe(sockets.size);
      const exposition = await metrics.metrics();
      expect(exposition).toMatch(new RegExp(`^portcullis_edge_upstream_connections\\{pool="calls"[^}]*\\} ${calls}$`, 'm'));
      expect(exposition).toMatch(/^portcullis_edge_upstream_connections\{pool="streams"[^}]*\} 3$/m);
      for (const stream of streams) stream.body.destroy();
    } finally {
      await client.onModuleDestroy();
    }
  });
});
