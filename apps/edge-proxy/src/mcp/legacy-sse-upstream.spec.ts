import { sealableInitialize } from './legacy-sse-upstream';

describe('sealableInitialize', () => {
  it('keeps protocol version, capabilities and client name and version, nothing else', () => {
    const params = { protocolVersion: '2025-06-18', capabilities: { sampling: {}, roots: { listChanged: true } }, clientInfo: { name: 'agent', version: '2.1', title: 'Agent', icons: [{ src: 'x' }] }, extra: 'dropped' };
    expect(sealableInitialize(params, '2025-06-18')).toEqual({ protocolVersion: '2025-06-18', capabilities: { sampling: {}, roots: { listChanged: true } }, clientInfo: { name: 'agent', version: '2.1' } });
  });

  it('cuts capabilities too large for a session id down to the names of the standard ones', () => {
    const capabilities = { sampling: { tools: {} }, elicitation: { form: {} }, experimental: { big: 'x'.repeat(5000) } };
    const sealed = sealableInitialize({ capabilities, clientInfo: { name: 'n'.repeat(1000), version: '1' } }, '2025-11-25');
    expect(sealed).toEqual({ protocolVersion: '2025-11-25', capabilities: { sampling: {}, elicitation: {} }, clientInfo: { name: 'n'.repeat(200), version: '1' } });
    expect(JSON.stringify(sealed).length).toBeLessThan(1500);
  });

  it('fills what a malformed initialize lacks, so a later initialize on another replica is still well-formed', () => {
    expect(sealableInitialize('not an object', null)).toEqual({ protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'unknown', version: '0' } });
  });
});
