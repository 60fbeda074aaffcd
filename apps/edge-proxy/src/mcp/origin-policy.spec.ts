import { OriginPolicy } from './origin-policy';

describe(OriginPolicy.name, () => {
  const policy = new OriginPolicy({ publicUrl: 'https://gateway.acme.example', allowedHosts: ['mcp.internal:8443'], allowedOrigins: ['https://console.acme.example'] });

  describe('check', () => {
    it.each([
      ['the public host', 'gateway.acme.example', undefined],
      ['the public host with a port', 'gateway.acme.example:443', undefined],
      ['a configured host', 'mcp.internal:8443', undefined],
      ['localhost', 'localhost:8080', undefined],
      ['an IPv4 literal', '127.0.0.1:3000', undefined],
      ['an IPv6 literal', '[::1]:3000', undefined],
      ['the public origin', 'gateway.acme.example', 'https://gateway.acme.example'],
      ['a configured origin', 'gateway.acme.example', 'https://console.acme.example'],
      ['a same-origin request by address', '127.0.0.1:3999', 'http://127.0.0.1:3999'],
    ])('lets %s through', (_what, host, origin) => {
      expect(policy.check(host, origin)).toBe('ok');
    });

    it.each([
      ["an attacker's name rebound to the gateway", 'evil.example.com', undefined],
      ['a rebound name with the real port', 'evil.example.com:8080', undefined],
      ['a look-alike of the public host', 'gateway.acme.example.evil.com', undefined],
      ['a missing Host', undefined, undefined],
      ['a Host that is not one', 'a b', undefined],
    ])('refuses the Host of %s', (_what, host, origin) => {
      expect(policy.check(host, origin)).toBe('Host');
    });

    it.each([
      ['a foreign web page posting to the gateway', 'https://evil.example.com'],
      ['a sandboxed frame (null origin)', 'null'],
      ['another port of the gateway host', 'https://gateway.acme.example:8443'],
      ['a non-http scheme', 'file:///etc/passwd'],
    ])('refuses the Origin of %s', (_what, origin) => {
      expect(policy.check('gateway.acme.example', origin)).toBe('Origin');
    });
  });
});
