import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';

/** What an HTTP drain ended with: requests that finished, listening streams closed at once, and requests still open at the deadline (cut). */
export interface HttpDrainResult {
  finished: number;
  streamsClosed: number;
  cut: number;
}

/**
 * Counts one Nest-on-Fastify app's requests in flight, so a shutdown can stop
 * taking new ones and wait for those already running. Attach before `listen`.
 *
 * Why not Nest's `close()` alone: it runs the modules' destroy hooks (bus
 * handlers, upstream pools) before it closes the HTTP server, and the server
 * then waits on keep-alive connections until they time out (72 s).
 */
export class HttpDrain {
  private readonly inFlight = new Set<ServerResponse>();
  private draining = false;
  private finished = 0;
  private readonly streamsClosed = new Set<ServerResponse>();
  private onIdle: (() => void) | null = null;

  constructor(private readonly app: INestApplication) {
    const server: Server = app.getHttpServer();
    server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
      // A response finishing during the drain closes its connection, so the client opens its next one elsewhere.
      if (this.draining) response.shouldKeepAlive = false;
      this.inFlight.add(response);
      response.once('close', () => {
        this.inFlight.delete(response);
        if (!this.draining) return;
        if (!this.streamsClosed.has(response)) this.finished++;
        // A response sent before the drain began may have left its connection open for the next request.
        server.closeIdleConnections();
        if (this.inFlight.size === 0) this.onIdle?.();
      });
    });
  }

  /** Requests being answered right now. */
  get active(): number {
    return this.inFlight.size;
  }

  /**
   * Stops listening, closes idle keep-alive connections (and each one that
   * becomes idle), and waits until every request in flight has finished or
   * `deadline` (epoch ms) has come; whatever is still open then is cut.
   * Not Fastify's `close()`: it cut the requests in flight of the edge's MCP
   * proxy at once; Node's `server.close()` lets them finish.
   */
  async drain(deadline: number): Promise<HttpDrainResult> {
    this.draining = true;
    const server: Server = this.app.getHttpServer();
    for (const response of [...this.inFlight]) {
      // A GET event stream (an MCP listening stream, the audit live tail) carries no call in flight and never ends by
      // itself: it is closed now, and the client reconnects to a replica that stays.
      if (isListeningStream(response)) {
        this.streamsClosed.add(response);
        response.destroy();
      } else if (!response.headersSent) response.shouldKeepAlive = false;
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => {
      if (this.inFlight.size === 0) return resolve();
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      this.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.onIdle = null;
    const cut = this.inFlight.size;
    // Every connection left is idle (or past the deadline): the server's close resolves once they are gone.
    server.closeAllConnections();
    await closed;
    return { finished: this.finished, streamsClosed: this.streamsClosed.size, cut };
  }
}

/** A GET that asked for an event stream: MCP's listening stream, the audit live tail. (Headers written by `writeHead` are not readable back.) */
function isListeningStream(response: ServerResponse): boolean {
  const request = response.req;
  return request.method === 'GET' && String(request.headers.accept ?? '').includes('text/event-stream');
}
