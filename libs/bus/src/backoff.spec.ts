import { backoffDelayMs } from './backoff';

describe('backoffDelayMs', () => {
  const options = { firstMs: 500, maxMs: 30_000 };

  it('doubles the step per failure, up to the cap', () => {
    const top = (attempt: number) => backoffDelayMs(attempt, options, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('never retries at once: at least half the step, however the dice fall (no tight loop)', () => {
    expect(backoffDelayMs(1, options, () => 0)).toBe(250);
    expect(backoffDelayMs(0, options, () => 0)).toBe(250);
    expect(backoffDelayMs(12, options, () => 0)).toBe(15_000);
  });

  it('spreads replicas that failed together over half the step (jitter)', () => {
    const delays = new Set(Array.from({ length: 200 }, () => backoffDelayMs(4, options)));
    expect(delays.size).toBeGreaterThan(50);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(2000);
      expect(delay).toBeLessThanOrEqual(4000);
    }
  });
});
