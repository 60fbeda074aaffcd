import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the proxy is holding: who sent it (the client's local port) and when. */
export interface HeldRequest {
  clientPort: number;
  at: number;
  /** Whether the client went away while held (its process died). */
  clientGone(): boolean;
}

/**
 * A loopback HTTP proxy in front of an OAuth provider. Everything is passed
 * through, except that once armed it holds the next `refresh_token` grant
 * before it reaches the provider, so a vault replica hangs inside its refresh
 * while holding the row lock. A held request whose client dies is dropped,
 * never forwarded: the provider never sees it.
 */
export class HoldingProxy {
  private armed: ((held: HeldRequest) => void) | null = null;
  private releases: (() => void)[] = [];
  /** refresh_token grants forwarded to the provider, and held ones dropped because their client died. */
  readonly counts = { forwardedRefreshGrants: 0, droppedRefreshGrants: 0 };

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(providerUrl: string): Promise<HoldingProxy> {
    let proxy: HoldingProxy | null = null;
    const server = createServer((req, res) => {
      void proxy!.handle(providerUrl, req).then(
        ({ status, headers, body }) => {
          if (status === 0) return res.destroy();
          res.writeHead(status, headers);
          res.end(body);
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new HoldingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** Holds the next refresh_token grant; resolves once one is held. */
  holdNextRefresh(timeoutMs: number): Promise<HeldRequest> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.armed = null;
        reject(new Error(`no refresh_token grant came within ${timeoutMs} ms`));
      }, timeoutMs);
      this.armed = (held) => {
        clearTimeout(timer);
        resolve(held);
      };
    });
  }

  /** Lets every held request go on (a dead client's is dropped). */
  releaseAll(): void {
    const releases = this.releases;
    this.releases = [];
    for (const release of releases) release();
  }

  async close(): Promise<void> {
    this.releaseAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(providerUrl: string, req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const isRefresh = new URLSearchParams(body.toString()).get('grant_type') === 'refresh_token';
    if (isRefresh && this.armed) {
      const notify = this.armed;
      this.armed = null;
      let gone = false;
      req.socket.once('close', () => (gone = true));
      const released = new Promise<void>((resolve) => this.releases.push(resolve));
      notify({ clientPort: req.socket.remotePort!, at: Date.now(), clientGone: () => gone || req.socket.destroyed });
      await released;
      if (gone || req.socket.destroyed) {
        this.counts.droppedRefreshGrants += 1;
        return { status: 0, headers: {}, body: Buffer.alloc(0) };
      }
    }
    if (isRefresh) this.counts.forwardedRefreshGrants += 1;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)) headers[name] = value;
    }
    const response = await fetch(`${providerUrl}${req.url}`, { method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body, redirect: 'manual' });
    const answer = Buffer.from(await response.arrayBuffer());
    const out: Record<string, string> = {};
    const contentType = response.headers.get('content-type');
    if (contentType) out['content-type'] = contentType;
    const cacheControl = response.headers.get('cache-control');
    if (cacheControl) out['cache-control'] = cacheControl;
    return { status: response.status, headers: out, body: answer };
  }
}
