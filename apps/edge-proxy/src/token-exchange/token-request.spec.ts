import { parseTokenExchangeForm, TokenRequestError } from './token-request';

const PUBLIC_URL = 'https://gw.example';
const FORM = 'application/x-www-form-urlencoded';
const base = {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: 'a.b.c',
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  actor_token: 'pcv_x_y',
  actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
};
const body = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenRequestError) return error.error;
    throw error;
  }
  throw new Error('no error');
};

describe(parseTokenExchangeForm.name, () => {
  it('reads a complete form, carrying scope and a gateway resource', () => {
    expect(parseTokenExchangeForm(`${FORM}; charset=utf-8`, body({ ...base, scope: 'a b', resource: `${PUBLIC_URL}/mcp/echo` }), PUBLIC_URL)).toEqual({
      actorToken: 'pcv_x_y',
      subjectToken: 'a.b.c',
      subjectTokenType: base.subject_token_type,
      scope: 'a b',
      resource: `${PUBLIC_URL}/mcp/echo`,
    });
  });

  it('rejects a repeated parameter (parameter pollution, RFC 6749 §3.2)', () => {
    expect(errorOf(() => parseTokenExchangeForm(FORM, `${body(base)}&subject_token=other`, PUBLIC_URL))).toBe('invalid_request');
  });

  it('rejects a JSON body', () => {
    expect(errorOf(() => parseTokenExchangeForm('application/json', JSON.stringify(base), PUBLIC_URL))).toBe('invalid_request');
  });

  it.each([
    ['another host', 'https://evil.example/mcp/echo'],
    ['a path escape', `${PUBLIC_URL}/mcp/echo/../../admin`],
    ['a look-alike host', `${PUBLIC_URL}.evil.example/mcp/echo`],
    ['a query', `${PUBLIC_URL}/mcp/echo?x=1`],
  ])('rejects a resource outside the gateway: %s', (_case, resource) => {
    expect(errorOf(() => parseTokenExchangeForm(FORM, body({ ...base, resource }), PUBLIC_URL))).toBe('invalid_target');
  });

  it('rejects another audience and another grant type', () => {
    expect(errorOf(() => parseTokenExchangeForm(FORM, body({ ...base, audience: 'https://other.example' }), PUBLIC_URL))).toBe('invalid_target');
    expect(errorOf(() => parseTokenExchangeForm(FORM, body({ ...base, grant_type: 'password' }), PUBLIC_URL))).toBe('unsupported_grant_type');
  });

  it('rejects a scope with characters outside RFC 6749 scope tokens', () => {
    expect(errorOf(() => parseTokenExchangeForm(FORM, body({ ...base, scope: 'a  "b"' }), PUBLIC_URL))).toBe('invalid_request');
  });
});
