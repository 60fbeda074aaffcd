import { OAuthBindings } from './oauth-binding';

describe('OAuthBindings', () => {
  const row = { id: '7d3c1c9e-3a51-4a8e-9d0b-1f2e3d4c5b6a', serverId: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9', principalId: 'user-alice' };

  it('binds access and refresh tokens of one row apart, so one cannot be swapped for the other', () => {
    expect(OAuthBindings.token(row, 'access_token')).not.toBe(OAuthBindings.token(row, 'refresh_token'));
  });

  it("differs for another principal's row, another server and the server's shared token", () => {
    const base = OAuthBindings.token(row, 'access_token');
    expect(OAuthBindings.token({ ...row, principalId: 'user-bob' }, 'access_token')).not.toBe(base);
    expect(OAuthBindings.token({ ...row, serverId: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8fa' }, 'access_token')).not.toBe(base);
    expect(OAuthBindings.token({ ...row, principalId: null }, 'access_token')).not.toBe(base);
  });

  it('keeps client secrets, flow verifiers and tokens in separate namespaces', () => {
    const ids = new Set([
      OAuthBindings.clientSecret(row.serverId),
      OAuthBindings.codeVerifier({ id: row.id, serverId: row.serverId, principalId: row.principalId }),
      OAuthBindings.token(row, 'access_token'),
    ]);
    expect(ids.size).toBe(3);
  });
});
