import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { MetricsRegistry } from '@portcullis/telemetry';
import type { EdgeProxyModuleOptions } from '../edge-proxy.options';
import { target } from '../../test/edge-harness';
import { ClientDisconnectedError } from '../errors';
import { ClientGone, UpstreamAnswer, UpstreamClient } from './upstream.client';

/**
 * `UpstreamClient.forward` and its UpstreamBody against a real HTTP server:
 * what the proxy relies on when an answer is handed over without a Readable.
 */
describe('UpstreamClient.forward', () => {
  let server: Server;
  let url: string;
  let handle: (req: IncomingMessage, res: ServerResponse) => void;
  const sockets = new Set<Socket>();
  let client: UpstreamClient;

  beforeAll(async () => {
    server = createServer((req, res) => handle(req, res));
    server.on('connection', (socket: Socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });

  beforeEach(() => {
    client = new UpstreamClient({ outboundAllowPrivate: true } as EdgeProxyModuleOptions, new MetricsRegistry());
  });

  afterEach(async () => {
    await client.onModuleDestroy();
    sockets.clear();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const forward = (signal = new ClientGone()): Promise<UpstreamAnswer> =>
    client.forward(target('body', url, { authType: 'none' }), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal });

  /** A Writable that keeps what it is given. */
  function sink(): Writable & { received: Buffer[]; ended: Promise<unknown> } {
    const received: Buffer[] = [];
    const writable = new Writable({
      write(chunk: Buffer, _encoding, done) {
        received.push(chunk);
        done();
      },
    });
    return Object.assign(writable, { received, ended: once(writable, 'finish') });
  }

  it('hands on an answer that arrived whole with its head in the consumer\'s end, then closes', async () => {
    handle = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{}}');
    const answer = await forward();
    // The parser has long handed over the whole answer; nobody consumed it yet.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    const closed = once(answer.body, 'close');
    const out = sink();
    // A held last chunk goes with end(): a response's separate write() would cork its socket until the next tick.
    const write = jest.spyOn(out, 'write');
    const end = jest.spyOn(out, 'end');
    answer.body.forwardTo(out);
    await out.ended;
    await closed;
    expect(Buffer.concat(out.received).toString()).toBe('{"jsonrpc":"2.0","id":1,"result":{}}');
    expect(write).not.toHaveBeenCalled();
    expect(end).toHaveBeenCalledTimes(1);
    expect(answer.body.done).toBe(true);
  });

  it('pauses the upstream while the consumer takes no more, and loses nothing', async () => {
    // More than loopback's socket buffers can hold (here up to 32 MiB received + 4 MiB sent): an answer read ahead
    // into memory would let the server finish while the consumer is stalled; a paused one cannot.
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const chunks = 1024; // 64 MiB
    let written = 0;
    let serverDone = false;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const more = (): void => {
        while (written < chunks) {
          written += 1;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end(() => (serverDone = true));
      };
      more();
    };
    const answer = await forward();
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let receivedBytes = 0;
    const out = new Writable({
      highWaterMark: 64 * 1024,
      write(data: Buffer, _encoding, done) {
        receivedBytes += data.length;
        void stalled.then(() => done());
      },
    });
    const finished = once(out, 'finish');
    answer.body.forwardTo(out);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(serverDone).toBe(false);
    expect(written).toBeLessThan(chunks);
    release();
    await finished;
    expect(receivedBytes).toBe(chunk.length * chunks);
  }, 20_000);

  it('tells a consumer that attaches after the answer failed', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    const answer = await forward();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const failures: unknown[] = [];
    answer.body.once('error', (error) => failures.push(error));
    answer.body.forwardTo(sink());
    expect(failures).toHaveLength(1);
    expect(answer.body.done).toBe(true);
  });

  it('aborts the upstream request when the body is destroyed, and when its client goes away', async () => {
    let upstreamClosed = 0;
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: {}\n\n');
      req.socket.once('close', () => (upstreamClosed += 1));
    };
    const destroyed = await forward();
    destroyed.body.destroy();
    const gone = new ClientGone();
    const abandoned = await forward(gone);
    const failures: unknown[] = [];
    abandoned.body.once('error', (error) => failures.push(error));
    abandoned.body.forwardTo(sink());
    gone.abort();
    const deadline = Date.now() + 2000;
    while (upstreamClosed < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(upstreamClosed).toBe(2);
    expect(failures).toHaveLength(1);
  });

  it('rejects with ClientDisconnectedError when the client went away before the head came', async () => {
    handle = (_req, res) => setTimeout(() => res.writeHead(200).end('{}'), 200);
    const gone = new ClientGone();
    const pending = forward(gone);
    setTimeout(() => gone.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(ClientDisconnectedError);
  });

  it('dumps a short unwanted answer and reuses its connection; cuts a long one', async () => {
    handle = (req, res) => {
      const long = req.headers['x-long'] === '1';
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(long ? Buffer.alloc(1024 * 1024, 'y') : '{"error":"no"}');
    };
    // A body that already came whole closes at once: listen before dumping.
    const dumped = async (answer: UpstreamAnswer): Promise<void> => {
      const closed = once(answer.body, 'close');
      answer.body.dump();
      await closed;
    };
    for (let i = 0; i < 3; i++) await dumped(await forward());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const kept = [...sockets];
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((socket) => !socket.destroyed)).toBe(true);

    const long = await client.forward(target('body', url, { authType: 'none' }), { method: 'POST', headers: { 'x-long': '1' }, body: '{}', signal: new ClientGone() });
    await dumped(long);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The connection that carried the long answer was cut; the others stay open for the pool.
    expect([...sockets].filter((socket) => socket.destroyed)).toHaveLength(1);
  });

  it('gives a Readable for a consumer that pipes', async () => {
    handle = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}');
    const answer = await forward();
    const out = sink();
    answer.body.toReadable().pipe(out);
    await out.ended;
    expect(JSON.parse(Buffer.concat(out.received).toString())).toEqual({ jsonrpc: '2.0', id: 2, result: { tools: [] } });
  });
});
