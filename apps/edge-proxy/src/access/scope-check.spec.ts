import { InsufficientScopeError } from '../errors';
import { insufficientScope, missingScopes } from './scope-check';

describe('missingScopes', () => {
  const files = { slug: 'files', requiredScopes: ['files.read', 'files.write'] };

  it('names each required scope the token does not grant, in the target’s order', () => {
    expect(missingScopes({ scopes: ['files.write', 'openid'] }, files)).toEqual(['files.read']);
    expect(missingScopes({ scopes: [] }, files)).toEqual(['files.read', 'files.write']);
  });

  it('finds nothing missing when the token grants every required scope, or the target requires none', () => {
    expect(missingScopes({ scopes: ['files.read', 'files.write', 'extra'] }, files)).toEqual([]);
    expect(missingScopes({ scopes: [] }, { slug: 'open' })).toEqual([]);
    expect(missingScopes({ scopes: [] }, { slug: 'open', requiredScopes: [] })).toEqual([]);
  });

  it('does not limit a credential that is not scope-limited (a gateway API key: RBAC governs it)', () => {
    expect(missingScopes({}, files)).toEqual([]);
  });

  it('compares scopes exactly: no prefix, case or wildcard match widens a grant (scope confusion)', () => {
    expect(missingScopes({ scopes: ['files', 'FILES.READ', 'files.*', 'files.read '] }, { slug: 'f', requiredScopes: ['files.read'] })).toEqual(['files.read']);
  });
});

describe('insufficientScope', () => {
  it('is an RFC 6750 insufficient_scope refusal (403) naming every required scope and the missing ones', () => {
    const refusal = insufficientScope({ scopes: ['files.read'] }, { slug: 'files', requiredScopes: ['files.read', 'files.write'] });
    expect(refusal).toBeInstanceOf(InsufficientScopeError);
    expect(refusal).toMatchObject({ code: 'insufficient_scope', httpStatus: 403, requiredScopes: ['files.read', 'files.write'], missingScopes: ['files.write'] });
    expect(refusal?.jsonRpcError()).toEqual({
      code: -32000,
      message: "Forbidden: the token lacks scope(s) MCP server 'files' requires: files.write",
      data: { code: 'insufficient_scope', requiredScopes: ['files.read', 'files.write'], missingScopes: ['files.write'] },
    });
  });

  it('is null when nothing is missing', () => {
    expect(insufficientScope({ scopes: ['a'] }, { slug: 'x', requiredScopes: ['a'] })).toBeNull();
  });
});
