import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Where a refresh is held: `before-provider` (the provider has not seen it) or
 * `after-provider` (the provider answered and rotated the refresh token; the
 * answer is held, as when a replica dies between the provider's answer and its
 * own commit).
 */
export type HoldWhen = 'before-provider' | 'after-provider';

/** A request the proxy is holding: who sent it (the client's local port) and when. */
export interface HeldRequest {
  clientPort: number;
  /** The proxy's side of the connection. */
  serverPort: number;
  at: number;
  /** Whether the client went away while held (its process died). */
  clientGone(): boolean;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A loopback HTTP proxy in front of an OAuth provider. Everything is passed
 * through, except that once armed it holds the next `refresh_token` grant, so
 * a vault replica hangs inside its refresh while holding the row lock. A held
 * request whose client dies is dropped: never forwarded (`before-provider`),
 * or its answer never delivered (`after-provider`).
 */
export class HoldingProxy {
  private armed: { notify: (held: HeldRequest) => void; when: HoldWhen } | null = null;
  private releases: (() => void)[] = [];
  /**
   * refresh_token grants forwarded to the provider; held ones dropped before
   * the provider because their client died; and answers of the provider
   * (a rotated refresh token) dropped because their client died.
   */
  readonly counts = { forwardedRefreshGrants: 0, droppedRefreshGrants: 0, orphanedRefreshGrants: 0 };

  private constructor(
    private readonly server: Server,
    private readonly providerUrl: string,
    readonly url: string,
  ) {}

  static async start(providerUrl: string): Promise<HoldingProxy> {
    let proxy: HoldingProxy | null = null;
    const server = createServer((req, res) => {
      void proxy!.handle(req).then(
        ({ status, headers, body }) => {
          if (status === 0 || req.socket.destroyed) return res.destroy();
          res.writeHead(status, headers);
          res.end(body);
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new HoldingProxy(server, providerUrl, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** Holds the next refresh_token grant (see {@link HoldWhen}); resolves once one is held. */
  holdNextRefresh(timeoutMs: number, when: HoldWhen = 'before-provider'): Promise<HeldRequest> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.armed = null;
        reject(new Error(`no refresh_token grant came within ${timeoutMs} ms`));
      }, timeoutMs);
      this.armed = {
        when,
        notify: (held) => {
          clearTimeout(timer);
          resolve(held);
        },
      };
    });
  }

  /** Lets every held request or answer go on; a dead client's is dropped. */
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

  private async handle(req: IncomingMessage): Promise<Answer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const isRefresh = new URLSearchParams(body.toString()).get('grant_type') === 'refresh_token';
    if (!isRefresh || !this.armed) return this.forward(req, body);
    const { notify, when } = this.armed;
    this.armed = null;
    let gone = false;
    req.socket.once('close', () => (gone = true));
    const answer = when === 'after-provider' ? await this.forward(req, body) : null;
    const released = new Promise<void>((resolve) => this.releases.push(resolve));
    notify({ clientPort: req.socket.remotePort!, serverPort: req.socket.localPort!, at: Date.now(), clientGone: () => gone || req.socket.destroyed });
    await released;
    if (gone || req.socket.destroyed) {
      this.counts[answer ? 'orphanedRefreshGrants' : 'droppedRefreshGrants'] += 1;
      return { status: 0, headers: {}, body: Buffer.alloc(0) };
    }
    return answer ?? this.forward(req, body);
  }

  private async forward(req: IncomingMessage, body: Buffer): Promise<Answer> {
    if (new URLSearchParams(body.toString()).get('grant_type') === 'refresh_token') this.counts.forwardedRefreshGrants += 1;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)) headers[name] = value;
    }
    const response = await fetch(`${this.providerUrl}${req.url}`, { method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body, redirect: 'manual' });
    const out: Record<string, string> = {};
    for (const name of ['content-type', 'cache-control', 'pragma', 'www-authenticate']) {
      const value = response.headers.get(name);
      if (value) out[name] = value;
    }
    return { status: response.status, headers: out, body: Buffer.from(await response.arrayBuffer()) };
  }
}
