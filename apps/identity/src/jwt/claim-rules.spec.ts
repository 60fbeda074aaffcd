import { claimValue, countMatchingRules, selectProvider } from './claim-rules';

describe(countMatchingRules.name, () => {
  it('counts rules when all hold, with equals and in', () => {
    expect(countMatchingRules([{ claim: 'org_id', equals: 'acme' }, { claim: 'tier', in: ['gold', 'silver'] }], { org_id: 'acme', tier: 'gold' })).toBe(2);
  });

  it('matches an array claim when one item is accepted', () => {
    expect(countMatchingRules([{ claim: 'groups', equals: 'dev' }], { groups: ['ops', 'dev'] })).toBe(1);
  });

  it('refuses a token when one rule fails or its claim is missing', () => {
    expect(countMatchingRules([{ claim: 'org_id', equals: 'acme' }], { org_id: 'evil' })).toBeNull();
    expect(countMatchingRules([{ claim: 'org_id', equals: 'acme' }], {})).toBeNull();
  });

  it('does not coerce types (the string "1" is not the number 1)', () => {
    expect(countMatchingRules([{ claim: 'level', equals: 1 }], { level: '1' })).toBeNull();
  });

  it('matches every token with 0 when there are no rules', () => {
    expect(countMatchingRules([], { anything: true })).toBe(0);
  });
});

describe(claimValue.name, () => {
  it('reads a literal name first, then walks a dotted path', () => {
    expect(claimValue({ 'a.b': 1, a: { b: 2 } }, 'a.b')).toBe(1);
    expect(claimValue({ a: { b: 2 } }, 'a.b')).toBe(2);
    expect(claimValue({ a: [1] }, 'a.0')).toBeUndefined();
  });
});

describe(selectProvider.name, () => {
  const provider = (name: string, claimRules: { claim: string; equals: string }[]) => ({ name, settings: { claimRules } });

  it('picks the provider whose rules match the most claims', () => {
    const providers = [provider('broad', []), provider('acme', [{ claim: 'org_id', equals: 'acme' }]), provider('acme-dev', [{ claim: 'org_id', equals: 'acme' }, { claim: 'team', equals: 'dev' }])];
    expect(selectProvider(providers, { org_id: 'acme', team: 'dev' })?.name).toBe('acme-dev');
    expect(selectProvider(providers, { org_id: 'acme', team: 'ops' })?.name).toBe('acme');
    expect(selectProvider(providers, { org_id: 'other' })?.name).toBe('broad');
  });

  it('selects none when no provider matches (a token of another tenant of the same issuer)', () => {
    expect(selectProvider([provider('acme', [{ claim: 'org_id', equals: 'acme' }])], { org_id: 'evil' })).toBeUndefined();
  });
});
