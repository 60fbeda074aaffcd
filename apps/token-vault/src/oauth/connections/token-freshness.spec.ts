import { backoffMs, isDue, isExpired } from './token-freshness';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

describe('isDue', () => {
  it('is due once less than the margin is left on a long-lived token', () => {
    const row = { issuedAt: at(-3_600_000), updatedAt: at(-3_600_000), expiresAt: at(29_000) };
    expect(isDue(row, NOW, 30_000)).toBe(true);
    expect(isDue({ ...row, expiresAt: at(31_000) }, NOW, 30_000)).toBe(false);
  });

  it('waits for half the lifetime of a token shorter than twice the margin, so it is not renewed on every use', () => {
    const row = { issuedAt: at(-2_000), updatedAt: at(-2_000), expiresAt: at(3_000) };
    expect(isDue(row, NOW, 30_000)).toBe(false);
    expect(isDue({ ...row, issuedAt: at(-3_000), expiresAt: at(2_000) }, NOW, 30_000)).toBe(true);
  });

  it('never calls a token without expiry due', () => {
    expect(isDue({ issuedAt: NOW, updatedAt: NOW, expiresAt: null }, NOW, 30_000)).toBe(false);
  });
});

describe('isExpired', () => {
  it('counts the expiry instant itself as expired', () => {
    expect(isExpired({ expiresAt: NOW }, NOW)).toBe(true);
    expect(isExpired({ expiresAt: at(1) }, NOW)).toBe(false);
    expect(isExpired({ expiresAt: null }, NOW)).toBe(false);
  });
});

describe('backoffMs', () => {
  it('doubles from one second and stops at five minutes, at most a whole step', () => {
    const highest = () => 1;
    expect([1, 2, 3, 4].map((failures) => backoffMs(failures, highest))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffMs(30, highest)).toBe(300_000);
  });

  it('waits at least half a step, so failed refreshes spread out but never retry at once', () => {
    const lowest = () => 0;
    expect([1, 2, 3].map((failures) => backoffMs(failures, lowest))).toEqual([500, 1_000, 2_000]);
    expect(backoffMs(30, lowest)).toBe(150_000);
  });
});
