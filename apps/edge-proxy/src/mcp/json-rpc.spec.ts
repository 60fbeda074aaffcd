import { InvalidJsonError, InvalidMessageError } from '../errors';
import { jsonRpcIdOf, parseJsonRpcBody } from './json-rpc';

describe('parseJsonRpcBody', () => {
  it('lists the requests of a body with the tool of a tools/call', () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'search', arguments: { q: 'x' } } });
    expect(parseJsonRpcBody(body).calls).toEqual([{ id: 4, method: 'tools/call', tool: 'search' }]);
  });

  it('leaves notifications and responses out of the requests', () => {
    const body = JSON.stringify([
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'a', result: {} },
      { jsonrpc: '2.0', id: 'b', method: 'tools/list' },
    ]);
    expect(parseJsonRpcBody(body).calls).toEqual([{ id: 'b', method: 'tools/list', tool: null }]);
  });

  it('cuts method and tool names to what an audit event may hold', () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'n'.repeat(600) } });
    expect(parseJsonRpcBody(body).calls[0].tool).toHaveLength(500);
  });

  it('notes whether an initialize request declared URL elicitation (MCP 2025-11-25)', () => {
    const initialize = (capabilities: unknown) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'c', version: '1' } } });
    expect(parseJsonRpcBody(initialize({ elicitation: { url: {} } })).urlElicitation).toBe(true);
    expect(parseJsonRpcBody(initialize({ elicitation: { form: {} } })).urlElicitation).toBe(false);
    expect(parseJsonRpcBody(initialize({ elicitation: {} })).urlElicitation).toBe(false);
    expect(parseJsonRpcBody(initialize({})).urlElicitation).toBe(false);
    expect(parseJsonRpcBody(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { capabilities: { elicitation: { url: {} } } } })).urlElicitation).toBe(false);
  });

  it('notes the protocol version an initialize request asked for (sealed into the session id), bounded', () => {
    const initialize = (protocolVersion: unknown) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'c', version: '1' } } });
    expect(parseJsonRpcBody(initialize('2025-06-18')).protocolVersion).toBe('2025-06-18');
    expect(parseJsonRpcBody(initialize('v'.repeat(65))).protocolVersion).toBeNull();
    expect(parseJsonRpcBody(initialize(20250618)).protocolVersion).toBeNull();
    expect(parseJsonRpcBody(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { protocolVersion: '2025-06-18' } })).protocolVersion).toBeNull();
  });

  it('rejects a body that is not JSON', () => {
    expect(() => parseJsonRpcBody('{"id":')).toThrow(InvalidJsonError);
    expect(() => parseJsonRpcBody(undefined)).toThrow(InvalidJsonError);
  });

  it.each(['42', '"text"', 'null', '[]', '[1]'])('rejects %s, which is not a message or batch', (raw) => {
    expect(() => parseJsonRpcBody(raw)).toThrow(InvalidMessageError);
  });
});

describe('jsonRpcIdOf', () => {
  it('finds the id of a single request and nothing else', () => {
    expect(jsonRpcIdOf('{"jsonrpc":"2.0","id":"x","method":"ping"}')).toBe('x');
    expect(jsonRpcIdOf('[{"jsonrpc":"2.0","id":1,"method":"ping"}]')).toBeNull();
    expect(jsonRpcIdOf('not json')).toBeNull();
    expect(jsonRpcIdOf('{"id":{"nested":true}}')).toBeNull();
  });
});
