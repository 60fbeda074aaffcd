import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { Clock } from '../clock';
import { DEFAULT_SESSION_MAX_AGE_SECONDS } from '../config/edge-proxy.config';
import { SealedSessions } from './sealed-sessions.service';

const TOKEN = 'pcl_session_max_age_token_aaaaaaaaaaaa';

/** A sealed session past its maximum age, at a real edge whose clock the test moves forward (default SESSION_MAX_AGE). */
describe(`${SealedSessions.name} maximum age at the edge`, () => {
  let edge: RunningEdge;
  let echo: EchoMcpServer;
  let offsetMs = 0;

  beforeAll(async () => {
    echo = await startEchoMcpServer();
    edge = await startEdge();
    edge.directory.addServer(target('echo', echo.url, { authType: 'none' }));
    edge.directory.addToken(TOKEN, principal({ sub: 'alice' }));
    const clock = edge.app.get(Clock);
    const realNowMs = clock.nowMs.bind(clock);
    jest.spyOn(clock, 'nowMs').mockImplementation(() => realNowMs() + offsetMs);
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await edge?.close();
    await echo?.close();
  });

  const post = async (body: string, sessionId?: string) => {
    const response = await fetch(edge.mcpUrl('echo'), {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}`, ...(sessionId && { 'mcp-session-id': sessionId }) },
      body,
    });
    const text = await response.text();
    const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? 'null');
    return { status: response.status, answer: JSON.parse(json) as { error?: unknown; result?: unknown }, sessionId: response.headers.get('mcp-session-id') };
  };
  const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

  it('serves a session until its maximum age, then answers 404 Session not found so the client initializes anew', async () => {
    const { sessionId } = await post(initializeRequest(1));
    expect(sessionId).toBeTruthy();
    expect((await post(toolsList, sessionId!)).status).toBe(200);

    offsetMs = DEFAULT_SESSION_MAX_AGE_SECONDS * 1000 - 5000;
    expect((await post(toolsList, sessionId!)).status).toBe(200);

    offsetMs = DEFAULT_SESSION_MAX_AGE_SECONDS * 1000 + 5000;
    const expired = await post(toolsList, sessionId!);
    expect(expired.status).toBe(404);
    expect(expired.answer.error).toEqual({ code: -32001, message: 'Session not found', data: { code: 'unknown_session' } });

    const fresh = await post(initializeRequest(3));
    expect(fresh.status).toBe(200);
    expect(fresh.sessionId).not.toBe(sessionId);
    expect((await post(toolsList, fresh.sessionId!)).status).toBe(200);
  });
});
