import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { serveOnLoopback, writeJsonRpcError } from './loopback-http';

export interface EchoMcpServerOptions {
  /** Server name announced at `initialize`; defaults to `echo`. */
  name?: string;
  /** `sse` serves the legacy HTTP+SSE transport (MCP 2024-11-05: `GET /sse`, messages to `POST /messages`) instead of streamable HTTP. */
  transport?: 'streamable-http' | 'sse';
}

/**
 * The headers of one HTTP request the echo server received, as they arrived,
 * plus its method and path as HTTP/2-style pseudo-headers (`:method`, `:path`).
 */
export type RecordedRequest = IncomingHttpHeaders & { ':method': string; ':path': string };

export interface EchoMcpServer {
  /** `http://127.0.0.1:<port>/mcp`, or `http://127.0.0.1:<port>/sse` for the legacy transport */
  url: string;
  /** The headers of every request received, oldest first: what an upstream actually saw. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A real MCP server (SDK `McpServer` over streamable HTTP with stateful sessions, or over legacy HTTP+SSE)
 * for tests that need an upstream. Tools: `echo` returns its `message`;
 * `request_headers` returns, as JSON text, the HTTP headers of the request that
 * carried the call, so a test can see exactly what a proxy forwarded.
 */
export async function startEchoMcpServer(options: EchoMcpServerOptions = {}): Promise<EchoMcpServer> {
  const name = options.name ?? 'echo';
  const requests: RecordedRequest[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const legacySessions = new Map<string, SSEServerTransport>();

  const handleLegacy = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (req.method === 'GET' && path === '/sse') {
      const transport = new SSEServerTransport('/messages', res);
      legacySessions.set(transport.sessionId, transport);
      transport.onclose = () => void legacySessions.delete(transport.sessionId);
      await createEchoServer(name).connect(transport);
      return;
    }
    const transport = legacySessions.get(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('sessionId') ?? '');
    if (req.method !== 'POST' || path !== '/messages' || !transport) return writeJsonRpcError(res, 404, -32001, 'Session not found');
    await transport.handlePostMessage(req, res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    requests.push({ ...req.headers, ':method': req.method ?? '', ':path': path });
    if (options.transport === 'sse') return handleLegacy(req, res, path);
    if (path !== '/mcp') return writeJsonRpcError(res, 404, -32000, 'Not found');

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId);
      // The spec's answer to an unknown or terminated session: 404, the client starts a new one.
      if (!transport) return writeJsonRpcError(res, 404, -32001, 'Session not found');
      return transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return writeJsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');

    // A POST without a session must be `initialize`; the transport itself rejects anything else.
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => void sessions.set(id, transport),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createEchoServer(name).connect(transport);
    await transport.handleRequest(req, res);
  };

  const http = await serveOnLoopback(handle);

  return {
    url: `${http.origin}/${options.transport === 'sse' ? 'sse' : 'mcp'}`,
    requests,
    close: async () => {
      await Promise.allSettled([...sessions.values(), ...legacySessions.values()].map((transport) => transport.close()));
      sessions.clear();
      legacySessions.clear();
      await http.close();
    },
  };
}

/** The echo server's tools on a fresh SDK server, for transports other than {@link startEchoMcpServer}'s. */
export function createEchoServer(name: string): McpServer {
  const mcp = new McpServer({ name, version: '1.0.0' });
  mcp.registerTool(
    'echo',
    { description: 'Returns its message unchanged', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  mcp.registerTool('request_headers', { description: 'Returns the HTTP headers of the request that carried this call' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify(extra.requestInfo?.headers ?? {}) }],
  }));
  return mcp;
}
