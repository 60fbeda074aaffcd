import { MAX_REMEMBERED_SESSIONS, UrlElicitationSessions } from './url-elicitation-sessions';

describe(UrlElicitationSessions.name, () => {
  it('remembers a session per slug, and forgets it', () => {
    const sessions = new UrlElicitationSessions();
    sessions.remember('a', 's1');
    expect(sessions.has('a', 's1')).toBe(true);
    expect(sessions.has('b', 's1')).toBe(false);
    sessions.forget('a', 's1');
    expect(sessions.has('a', 's1')).toBe(false);
  });

  it('stays bounded however many sessions a client opens (memory exhaustion), forgetting the oldest first', () => {
    const sessions = new UrlElicitationSessions();
    for (let i = 0; i <= MAX_REMEMBERED_SESSIONS; i++) sessions.remember('a', `s${i}`);
    expect(sessions.has('a', 's0')).toBe(false);
    expect(sessions.has('a', 's1')).toBe(true);
    expect(sessions.has('a', `s${MAX_REMEMBERED_SESSIONS}`)).toBe(true);
  });

  it('ignores a missing, repeated or oversized session id', () => {
    const sessions = new UrlElicitationSessions();
    sessions.remember('a', undefined);
    sessions.remember('a', ['x', 'y']);
    sessions.remember('a', 'x'.repeat(201));
    expect(sessions.has('a', undefined)).toBe(false);
    expect(sessions.has('a', ['x', 'y'])).toBe(false);
    expect(sessions.has('a', 'x'.repeat(201))).toBe(false);
  });
});
