import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { ServerEverything, startServerEverything } from '@portcullis/testing';
import { principal, RunningEdge, startEdge, target } from '../test/edge-harness';
import { EdgeProxyModule } from './edge-proxy.module';

const TOKEN = 'pcl_Everythg_token-for-the-reference-server';

describe(`${EdgeProxyModule.name} with server-everything upstream`, () => {
  let edge: RunningEdge;
  let everything: ServerEverything;

  beforeAll(async () => {
    everything = await startServerEverything();
    edge = await startEdge();
    edge.directory.addServer(target('everything', everything.url, { authType: 'none' }));
    edge.directory.addToken(TOKEN, principal());
  });

  afterAll(async () => {
    await edge?.close();
    await everything?.close();
  });

  it('lists the reference server tools and calls echo through the edge', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl('everything')), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    });
    const client = new Client({ name: 'service-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'get-sum']));
      const result = await client.callTool({ name: 'echo', arguments: { message: 'hello everything' } });
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: hello everything' }]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('streams progress notifications of a running tool to the client as they happen', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl('everything')), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    });
    const client = new Client({ name: 'service-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const progress: number[] = [];
      const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, {
        onprogress: ({ progress: step }) => void progress.push(step),
      });
      expect(progress).toEqual([1, 2, 3]);
      expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it("carries the upstream's sampling, elicitation and roots requests to the client and the client's answers back", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl('everything')), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    });
    const client = new Client({ name: 'service-test', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } });
    const asked: { sampling: unknown[]; elicitation: unknown[]; roots: number } = { sampling: [], elicitation: [], roots: 0 };
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      asked.sampling.push(request.params.messages);
      return { model: 'client-side-model', role: 'assistant', content: { type: 'text', text: 'sampled by the client behind the gateway' } };
    });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.elicitation.push(request.params.message);
      return { action: 'accept', content: { name: 'Ada Lovelace', check: true, email: 'ada@example.com' } };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      asked.roots++;
      return { roots: [{ uri: 'file:///work/behind-the-gateway', name: 'gateway-root' }] };
    });
    await client.connect(transport);
    try {
      const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'say hi', maxTokens: 20 } });
      expect(JSON.stringify(asked.sampling)).toContain('say hi');
      expect(JSON.stringify(sampled.content)).toContain('sampled by the client behind the gateway');

      const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      expect(asked.elicitation).toEqual(['Please provide inputs for the following fields:']);
      expect(JSON.stringify(elicited.content)).toContain('Ada Lovelace');

      const roots = await client.callTool({ name: 'get-roots-list', arguments: {} });
      expect(asked.roots).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(roots.content)).toContain('file:///work/behind-the-gateway');
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });
});
