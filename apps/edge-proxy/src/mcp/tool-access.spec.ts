import { Readable } from 'node:stream';
import { AccessDecision } from '@portcullis/contracts';
import { filterJsonBody, filterSseEvent, refusalBody, refusedToolCalls, ToolsListFilter } from './tool-access';

const decision = (overrides: Partial<AccessDecision> = {}): AccessDecision => ({
  allowed: true,
  role: 'user',
  reason: 'test',
  visibleTools: null,
  toolRules: [{ allow: null, deny: ['delete_*'] }],
  hiddenTools: ['secret'],
  descriptions: { echo: 'Says it back' },
  ...overrides,
});
const list = { jsonrpc: '2.0', id: 7, result: { tools: [{ name: 'echo', description: 'x' }, { name: 'delete_repo' }, { name: 'secret' }, { name: 'ok' }] } };

async function collect(filter: ToolsListFilter, chunks: Buffer[]): Promise<string> {
  let out = '';
  for await (const chunk of Readable.from(chunks).pipe(filter)) out += String(chunk);
  return out;
}

describe('refusedToolCalls', () => {
  it('stops a call to a denied or disabled tool', () => {
    const calls = [
      { id: 1, method: 'tools/call', tool: 'delete_repo' },
      { id: 2, method: 'tools/call', tool: 'secret' },
      { id: 3, method: 'tools/call', tool: 'echo' },
      { id: 4, method: 'tools/list', tool: null },
    ];
    expect(refusedToolCalls(calls, decision()).map((r) => r.call.id)).toEqual([1, 2]);
  });

  it('stops a viewer from calling any tool', () => {
    expect(refusedToolCalls([{ id: 1, method: 'tools/call', tool: 'echo' }], decision({ role: 'viewer' }))).toHaveLength(1);
  });
});

describe('refusalBody', () => {
  it('answers a refused call exactly like an unknown tool, and refuses the rest of its batch', () => {
    const calls = [
      { id: 1, method: 'tools/call', tool: 'secret' },
      { id: 2, method: 'tools/list', tool: null },
    ];
    const body = JSON.parse(refusalBody(calls, [{ call: calls[0], reason: 'x' }], true));
    expect(body[0]).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'Unknown tool: secret' } });
    expect(body[1].error.code).toBe(-32000);
    expect(JSON.stringify(body)).not.toContain('policy');
  });
});

describe('filterJsonBody', () => {
  it('stops hidden and denied tools from leaking through tools/list, and applies description overrides', () => {
    const out = JSON.parse(filterJsonBody(JSON.stringify(list), new Set([7]), decision()));
    expect(out.result.tools).toEqual([{ name: 'echo', description: 'Says it back' }, { name: 'ok' }]);
  });

  it('leaves answers to other requests alone', () => {
    const other = { jsonrpc: '2.0', id: 8, result: { tools: [{ name: 'secret' }] } };
    expect(JSON.parse(filterJsonBody(JSON.stringify(other), new Set([7]), decision()))).toEqual(other);
  });
});

describe('filterSseEvent', () => {
  it('rewrites the data of a tools/list answer and keeps the event id', () => {
    const out = filterSseEvent(`event: message\nid: 42\ndata: ${JSON.stringify(list)}`, new Set([7]), decision());
    expect(out.startsWith('event: message\nid: 42\ndata: ')).toBe(true);
    expect(out).not.toContain('secret');
  });
});

describe(ToolsListFilter.name, () => {
  it('filters an event stream split at arbitrary bytes, multi-byte characters included', async () => {
    const text = `event: message\ndata: ${JSON.stringify({ ...list, result: { tools: [...list.result.tools, { name: 'ok2', description: 'héllo ✓' }] } })}\n\nevent: message\ndata: {"jsonrpc":"2.0","method":"notifications/message"}\n\n`;
    const bytes = Buffer.from(text);
    const chunks = [bytes.subarray(0, 17), bytes.subarray(17, 120), bytes.subarray(120, 121), bytes.subarray(121)];
    const out = await collect(new ToolsListFilter('sse', new Set([7]), decision()), chunks);
    expect(out).not.toContain('secret');
    expect(out).not.toContain('delete_repo');
    expect(out).toContain('héllo ✓');
    expect(out).toContain('notifications/message');
    expect(out.endsWith('\n\n')).toBe(true);
  });

  it('fails the stream rather than pass an answer it cannot read', async () => {
    await expect(collect(new ToolsListFilter('json', new Set([7]), decision()), [Buffer.from('{not json')])).rejects.toThrow();
  });
});
