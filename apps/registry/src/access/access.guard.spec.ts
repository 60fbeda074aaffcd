import type { Principal } from '@portcullis/contracts';
import { bearerToken } from './access.guard';
import { isGranted, RegistryRoleGrants } from './registry-permissions';

const principal = (isAdmin: boolean): Principal => ({ id: 'user:1', kind: 'user', sub: '1', teams: [], isAdmin });

describe(bearerToken.name, () => {
  it('reads the token of a Bearer header, in any case of the scheme', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic YWJjOmRlZg==', 'abc', 'Bearer a b', 'Bearer\tabc'])('rejects %p', (header) => {
    expect(bearerToken(header)).toBeNull();
  });
});

describe(isGranted.name, () => {
  it('grants an admin every permission of the admin API', () => {
    for (const permission of RegistryRoleGrants.admin) expect(isGranted(principal(true), permission)).toBe(true);
  });

  it('denies everything but the member permissions to anyone else (deny by default)', () => {
    for (const permission of RegistryRoleGrants.admin.filter((p) => !(RegistryRoleGrants.member as readonly string[]).includes(p))) expect(isGranted(principal(false), permission)).toBe(false);
  });
});

describe('rolesOf', () => {
  it('stops an on-behalf-of token from carrying the user admin rights to the actor', () => {
    const delegated: Principal = { ...principal(true), actor: { id: 'va-1', kind: 'virtual_account', sub: 'bot' } };
    expect(isGranted(delegated, 'servers:write')).toBe(false);
  });
});
