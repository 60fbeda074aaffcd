import { credentialAssociatedData } from './credential-binding';

describe('credentialAssociatedData', () => {
  const row = { id: '7d3c1c9e-3a51-4a8e-9d0b-1f2e3d4c5b6a', serverId: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9', principalId: null, kind: 'header', name: 'X-Api-Key' };

  it('names the credential, server, principal (* when shared), kind and header', () => {
    expect(credentialAssociatedData(row)).toBe(
      'credential:7d3c1c9e-3a51-4a8e-9d0b-1f2e3d4c5b6a|server:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9|principal:*|kind:header|name:X-Api-Key',
    );
  });

  it('differs for every part of the row identity', () => {
    const base = credentialAssociatedData(row);
    expect(credentialAssociatedData({ ...row, id: '7d3c1c9e-3a51-4a8e-9d0b-1f2e3d4c5b6b' })).not.toBe(base);
    expect(credentialAssociatedData({ ...row, serverId: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8fa' })).not.toBe(base);
    expect(credentialAssociatedData({ ...row, principalId: 'user-1' })).not.toBe(base);
    expect(credentialAssociatedData({ ...row, name: 'X-Other' })).not.toBe(base);
  });

  it('keeps a principal literally named "*" apart from the shared value', () => {
    expect(credentialAssociatedData({ ...row, principalId: '*' })).not.toBe(credentialAssociatedData(row));
  });

  it('cannot be spoofed by separators inside a principal id or header name', () => {
    const spoof = credentialAssociatedData({ ...row, principalId: 'a|kind:header|name:X', name: 'Y' });
    const plain = credentialAssociatedData({ ...row, principalId: 'a', name: 'X|kind:header|name:Y' });
    expect(spoof).not.toBe(plain);
    expect(spoof.split('|')).toHaveLength(5);
  });
});
