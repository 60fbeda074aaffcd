import { createServer, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MetricsRegistry } from '@portcullis/telemetry';
import type { EdgeProxyModuleOptions } from '../edge-proxy.options';
import { target } from '../../test/edge-harness';
import { UpstreamClient } from './upstream.client';

/**
 * An MCP server built with the SDK answers with `Connection: keep-alive` set
 * by itself, so Node adds no `Keep-Alive: timeout=…` hint, and Node closes an
 * idle connection after 5 s. The edge's pool must drop an idle connection
 * first: a request written on a connection the server is closing fails as
 * "upstream unreachable" (the chaos suite saw it under load).
 */
describe(UpstreamClient.name, () => {
  let server: Server;
  let url: string;
  const connections: { socket: Socket; openedAt: number; clientEndedAt: number | null }[] = [];

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive', 'cache-control': 'no-cache' });
      res.end('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      const seen = { socket, openedAt: Date.now(), clientEndedAt: null as number | null };
      connections.push(seen);
      socket.once('end', () => (seen.clientEndedAt = Date.now()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('closes an idle upstream connection before a Node server without a keep-alive hint would (5 s)', async () => {
    const client = new UpstreamClient({ outboundAllowPrivate: true } as EdgeProxyModuleOptions, new MetricsRegistry());
    try {
      const answered = await client.send(target('keep-alive', url, { authType: 'none' }), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: new AbortController().signal });
      expect(answered.headers['keep-alive']).toBeUndefined();
      await answered.body.text();
      const answeredAt = Date.now();
      while (connections[0]?.clientEndedAt == null && Date.now() - answeredAt < 6000) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(connections).toHaveLength(1);
      // The edge ended the connection (the server saw its FIN), well before the server's own 5 s.
      expect(connections[0]!.clientEndedAt).not.toBeNull();
      expect(connections[0]!.clientEndedAt! - answeredAt).toBeLessThan(4500);
    } finally {
      await client.onModuleDestroy();
    }
  }, 15_000);
});
