import { decodeCursor, encodeCursor } from './events-cursor';

describe('events cursor', () => {
  it('round-trips a seq through an opaque base64url string', () => {
    const cursor = encodeCursor(12345);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain('12345');
    expect(decodeCursor(cursor)).toBe(12345);
  });

  it.each([
    ['a bare number', '12345'],
    ['another version', Buffer.from('v2:5').toString('base64url')],
    ['a negative seq', Buffer.from('v1:-5').toString('base64url')],
    ['zero', Buffer.from('v1:0').toString('base64url')],
    ['SQL in the seq', Buffer.from('v1:1 OR 1=1').toString('base64url')],
    ['characters outside base64url', 'djE6NQ=='],
    ['an empty string', ''],
  ])('rejects %s', (_what, cursor) => {
    expect(decodeCursor(cursor)).toBeNull();
  });
});
