import { isToolVisible, toolGlobMatches } from './access.contract';

describe('toolGlobMatches', () => {
  it.each([
    ['*', 'anything', true],
    ['get_*', 'get_me', true],
    ['get_*', 'list_me', false],
    ['?et_me', 'get_me', true],
    ['get_me', 'get_me', true],
    ['get_me', 'get_me_too', false],
    ['*_repo', 'delete_repo', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
    ['.', 'x', false],
  ])('%s against %s is %s', (glob, name, expected) => expect(toolGlobMatches(glob, name)).toBe(expected));

  it('treats regex characters literally (no pattern injection)', () => {
    expect(toolGlobMatches('a.c', 'abc')).toBe(false);
  });

  it('stays fast on a pathological pattern (no catastrophic backtracking)', () => {
    const started = Date.now();
    expect(toolGlobMatches('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('isToolVisible', () => {
  it('requires every rule to pass and hides disabled tools', () => {
    const decision = { hiddenTools: ['off'], toolRules: [{ allow: ['a*', 'off'], deny: [] }, { allow: null, deny: ['ab'] }] };
    expect(['a', 'ab', 'b', 'off'].filter((name) => isToolVisible(decision, name))).toEqual(['a']);
  });
});
