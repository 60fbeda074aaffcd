import { bearerToken } from './bearer-token';

describe('bearerToken', () => {
  it('reads the token of a Bearer header, whatever the scheme case', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer abc')).toBe('abc');
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', ['Bearer a', 'Bearer b']])('finds no bearer token in %p', (header) => {
    expect(bearerToken(header)).toBeNull();
  });

  it('rejects a header that smuggles a second token after a space', () => {
    expect(bearerToken('Bearer a b')).toBeNull();
  });
});
