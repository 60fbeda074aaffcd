import { delegatedScopes, MAX_TOKEN_SCOPES, tokenScopes } from './token-scopes';

describe('tokenScopes', () => {
  it('reads the space-delimited scope claim', () => {
    expect(tokenScopes({ scope: 'openid mcp:tools  files.read' })).toEqual(['openid', 'mcp:tools', 'files.read']);
  });

  it('reads an scp array, and an scp string as Entra issues it', () => {
    expect(tokenScopes({ scp: ['mcp:tools', 'files.read'] })).toEqual(['mcp:tools', 'files.read']);
    expect(tokenScopes({ scp: 'mcp:tools files.read' })).toEqual(['mcp:tools', 'files.read']);
  });

  it('prefers scope over scp when a token has both', () => {
    expect(tokenScopes({ scope: 'a', scp: ['b'] })).toEqual(['a']);
  });

  it('grants nothing to a token without either claim, or with claims of the wrong type', () => {
    expect(tokenScopes({})).toEqual([]);
    expect(tokenScopes({ scope: 42, scp: { admin: true } })).toEqual([]);
  });

  it('drops entries that are not scope-tokens, so no scope can break out of a quoted challenge header', () => {
    expect(tokenScopes({ scp: ['ok', 'a"b', 'back\\slash', 'two words', 7, ''] })).toEqual(['ok']);
  });

  it('keeps each scope once and at most MAX_TOKEN_SCOPES of them', () => {
    expect(tokenScopes({ scope: 'a a b' })).toEqual(['a', 'b']);
    expect(tokenScopes({ scope: Array.from({ length: MAX_TOKEN_SCOPES + 5 }, (_, i) => `s${i}`).join(' ') })).toHaveLength(MAX_TOKEN_SCOPES);
  });
});

describe('delegatedScopes', () => {
  it("carries the subject token's scopes into the delegated token", () => {
    expect(delegatedScopes(['mcp:tools', 'files.read'], undefined)).toEqual(['mcp:tools', 'files.read']);
    expect(delegatedScopes([], undefined)).toEqual([]);
  });

  it('narrows to the scopes asked for and never widens beyond the subject token (a delegated token cannot gain a scope)', () => {
    expect(delegatedScopes(['mcp:tools', 'files.read'], 'files.read admin')).toEqual(['files.read']);
    expect(delegatedScopes(['mcp:tools'], 'admin')).toEqual([]);
  });

  it('limits an unlimited subject (a gateway API key) to what was asked for, or leaves it unlimited', () => {
    expect(delegatedScopes(undefined, 'files.read')).toEqual(['files.read']);
    expect(delegatedScopes(undefined, undefined)).toBeUndefined();
  });
});
