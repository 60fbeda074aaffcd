import { principal, target } from '../../test/edge-harness';
import { PairKeys } from './pair-keys';

describe(PairKeys.name, () => {
  const keys = new PairKeys((who, server) => `${who.id}\n${server.id}`);

  it('builds a pair\'s key once and serves the same string after', () => {
    const build = jest.fn((who: { id: string }, server: { id: string }) => `${who.id}\n${server.id}`);
    const memo = new PairKeys(build);
    const alice = principal({ id: 'alice' });
    const github = target('github', 'https://github.example.test/mcp', { id: 'srv-github' });
    const first = memo.of(alice, github);
    expect(memo.of(alice, github)).toBe(first);
    expect(first).toBe('alice\nsrv-github');
    expect(build).toHaveBeenCalledTimes(1);
  });

  it('keys each pair apart, and equal pairs of other objects alike', () => {
    const alice = principal({ id: 'alice' });
    const bob = principal({ id: 'bob' });
    const github = target('github', 'https://github.example.test/mcp', { id: 'srv-github' });
    const slack = target('slack', 'https://slack.example.test/mcp', { id: 'srv-slack' });
    const seen = new Set([keys.of(alice, github), keys.of(alice, slack), keys.of(bob, github), keys.of(bob, slack)]);
    expect(seen.size).toBe(4);
    // A principal or target loaded again (a new object) gets an equal key, so it finds what the cache holds.
    expect(keys.of(principal({ id: 'alice' }), target('github', 'https://github.example.test/mcp', { id: 'srv-github' }))).toBe(keys.of(alice, github));
  });
});
