import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo, connect } from 'node:net';
import { InvalidMessageError, PayloadTooLargeError } from '../errors';
import { McpHttpReply, readRequestBody } from './mcp-http';

/** A real HTTP server whose handler the test sets, so both helpers meet Node's own request and response objects. */
describe('MCP front door HTTP helpers', () => {
  let server: Server;
  let port: number;
  let handler: (request: IncomingMessage, response: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Sends raw bytes (so a test can lie about the length) and returns the answer's status, headers and body. */
  function send(head: string, body: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(`${head}\r\n\r\n${body}`));
      let raw = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (raw += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const [headText, ...rest] = raw.split('\r\n\r\n');
        const [statusLine, ...lines] = headText.split('\r\n');
        const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
      });
    });
  }

  function get(path = '/'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
        .on('error', reject)
        .end();
    });
  }

  describe(McpHttpReply.name, () => {
    it('frames a JSON answer as Fastify did: utf-8 charset added, the length in bytes', async () => {
      handler = (_req, res) => new McpHttpReply(res).status(404).header('X-Extra', 'yes').type('application/json').send('{"é":1}');
      const answer = await get();
      expect(answer.status).toBe(404);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(answer.headers['content-length']).toBe(String(Buffer.byteLength('{"é":1}')));
      expect(answer.headers['x-extra']).toBe('yes');
      expect(answer.body).toBe('{"é":1}');
    });

    it('sends an empty answer with length 0, none on a 204, and nothing once sent or taken over', async () => {
      let reply!: McpHttpReply;
      handler = (_req, res) => {
        reply = new McpHttpReply(res);
        reply.status(202).send();
        reply.status(500).send('ignored');
      };
      const accepted = await get();
      expect(accepted).toMatchObject({ status: 202, body: '' });
      expect(accepted.headers['content-length']).toBe('0');
      expect(reply.sent).toBe(true);

      handler = (_req, res) => new McpHttpReply(res).status(204).send();
      const noContent = await get();
      expect(noContent.status).toBe(204);
      expect(noContent.headers['content-length']).toBeUndefined();

      handler = (_req, res) => {
        const taken = new McpHttpReply(res);
        taken.hijack();
        expect(taken.sent).toBe(true);
        taken.send('not sent');
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: own\n\n');
      };
      expect((await get()).body).toBe('data: own\n\n');
    });
  });

  describe(readRequestBody.name, () => {
    async function outcome(head: string, body: string, limit = 16): Promise<string> {
      let result: Promise<string> = Promise.resolve('');
      handler = (req, res) => {
        result = readRequestBody(req, limit).then(
          (text) => `read ${text}`,
          (error: unknown) => (error instanceof PayloadTooLargeError ? 'too large' : error instanceof InvalidMessageError ? 'unreadable' : 'other'),
        );
        void result.then(() => res.writeHead(200, { connection: 'close' }).end());
      };
      await send(head, body).catch(() => undefined);
      return result;
    }

    it('reads a body within the limit as UTF-8, however it is framed', async () => {
      expect(await outcome(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength('{"a":"é"}')}`, '{"a":"é"}')).toBe('read {"a":"é"}');
      expect(await outcome('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked', '4\r\n{"a"\r\n4\r\n:"b}\r\n0\r\n\r\n')).toBe('read {"a":"b}');
    });

    it('refuses a declared length past the limit before reading, and a chunked body once it grows past it', async () => {
      expect(await outcome('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17', 'x'.repeat(17))).toBe('too large');
      expect(await outcome('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked', `11\r\n${'x'.repeat(17)}\r\n0\r\n\r\n`)).toBe('too large');
    });

    it('answers a body cut short of its declared length as unreadable', async () => {
      expect(await outcome('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10', 'short')).toBe('unreadable');
    });
  });
});
