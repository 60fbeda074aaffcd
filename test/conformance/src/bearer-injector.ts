import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BearerInjector {
  url: string;
  close(): Promise<void>;
}

/**
 * The suite's client cannot send an `Authorization` header, and the gateway
 * requires one. This loopback hop adds the agent's token and changes nothing
 * else (Host and Origin pass unchanged, so the gateway's DNS-rebinding checks
 * see what the suite sent), streaming both ways.
 */
export async function startBearerInjector(target: string, token: string): Promise<BearerInjector> {
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, authorization: `Bearer ${token}` } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    outgoing.on('close', () => forwarded.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
