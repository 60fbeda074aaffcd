import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { EventStore, StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { serveOnLoopback, writeJsonRpcError } from '@portcullis/testing';
import { z } from 'zod';

export interface ResumableMcpServer {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  /** Method and headers of every request received, oldest first. */
  requests: (IncomingHttpHeaders & { ':method': string })[];
  /** Starts a `notifications/message` on every open session's standalone GET stream, `count` of them `intervalMs` apart. */
  broadcast(count: number, intervalMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real upstream MCP server with resumable streams: the SDK's
 * `StreamableHTTPServerTransport` with an in-memory {@link OrderedEventStore},
 * stateful sessions. Its tool `countdown` sends `count` progress notifications
 * `intervalMs` apart on the request's SSE answer, then answers `done <count>`;
 * every event has an id, and events sent while the client is away are kept
 * for a GET with `Last-Event-ID`.
 */
export async function startResumableMcpServer(): Promise<ResumableMcpServer> {
  const requests: ResumableMcpServer['requests'] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; mcp: McpServer }>();
  const eventStore = new OrderedEventStore();

  const serverFor = (): McpServer => {
    const mcp = new McpServer({ name: 'resumable', version: '1.0.0' }, { capabilities: { logging: {} } });
    mcp.registerTool(
      'countdown',
      { description: 'Sends count progress notifications intervalMs apart, then answers', inputSchema: { count: z.number().int().min(1).max(100), intervalMs: z.number().int().min(1).max(1000) } },
      async ({ count, intervalMs }, extra) => {
        const progressToken = extra._meta?.progressToken;
        for (let i = 1; i <= count; i++) {
          await new Promise((resolve) => setTimeout(resolve, intervalMs));
          if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: i, total: count } });
        }
        return { content: [{ type: 'text', text: `done ${count}` }] };
      },
    );
    return mcp;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests.push({ ...req.headers, ':method': req.method ?? '' });
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return writeJsonRpcError(res, 404, -32001, 'Session not found');
      return session.transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return writeJsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
    const mcp = serverFor();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      eventStore,
      onsessioninitialized: (id) => void sessions.set(id, { transport, mcp }),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  };

  const http = await serveOnLoopback(handle);
  return {
    url: `${http.origin}/mcp`,
    requests,
    broadcast: async (count, intervalMs) => {
      for (let i = 1; i <= count; i++) {
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        for (const { mcp } of sessions.values()) await mcp.server.sendLoggingMessage({ level: 'info', data: `tick ${i}` });
      }
    },
    close: async () => {
      await Promise.allSettled([...sessions.values()].map(({ transport }) => transport.close()));
      sessions.clear();
      await http.close();
    },
  };
}

/**
 * Events in the order they were stored, under opaque sequential ids. (The
 * SDK's example `InMemoryEventStore` reads the stream id back from the part
 * of the event id before the first `_`, which is empty for the standalone GET
 * stream `_GET_stream`, and orders events by id string; it can resume a
 * request's answer but not the GET stream.) No `getStreamIdForEventId`: a
 * reconnect then replaces a predecessor the server has not noticed gone yet.
 */
class OrderedEventStore implements EventStore {
  private readonly events = new Map<string, { streamId: string; message: JSONRPCMessage }>();
  private sequence = 0;

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const eventId = `e${++this.sequence}`;
    this.events.set(eventId, { streamId, message });
    return eventId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const last = this.events.get(lastEventId);
    if (!last) return '';
    let after = false;
    for (const [eventId, { streamId, message }] of this.events) {
      if (eventId === lastEventId) after = true;
      else if (after && streamId === last.streamId) await send(eventId, message);
    }
    return last.streamId;
  }
}
