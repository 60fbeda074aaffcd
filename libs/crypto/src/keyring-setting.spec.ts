import { randomBytes } from 'node:crypto';
import { keyringSetting } from './keyring-setting';

describe(keyringSetting.name, () => {
  const key = randomBytes(32).toString('base64');

  it('parses a keyring whose first key seals', () => {
    expect(keyringSetting('SESSION_KEYS').parse(`k2:${key},k1:${key}`).activeKid).toBe('k2');
  });

  it('names a bad entry without repeating any of the value (key material in a misplaced kid)', () => {
    const result = keyringSetting('SESSION_KEYS').safeParse(`${key}:${key.slice(0, 10)}`);
    expect(result.success).toBe(false);
    const message = JSON.stringify(result.error?.issues);
    expect(message).not.toContain(key.slice(0, 12));
    expect(message).toContain('SESSION_KEYS');
  });
});
