import { z } from 'zod';
import { natsAuthOf, NatsConnectionConfig, Settings } from './settings';

describe('Settings', () => {
  describe('commaList', () => {
    const schema = Settings.commaList(z.string().regex(/^[a-z]+$/));

    it('splits, trims and drops empty items; unset is the empty list', () => {
      expect(schema.parse(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
      expect(schema.parse(undefined)).toEqual([]);
    });

    it('refuses an item the item schema refuses', () => {
      expect(schema.safeParse('a,B').success).toBe(false);
    });
  });
});

describe(natsAuthOf.name, () => {
  const parse = (env: Record<string, string>) => z.object(NatsConnectionConfig).parse({ NATS_URL: 'tls://nats.internal:4222', ...env });

  it('gives nothing beyond the URL on an open server', () => {
    expect(natsAuthOf(parse({}))).toEqual({});
  });

  it("passes the service's user, password and TLS files, treating empty values as unset", () => {
    expect(natsAuthOf(parse({ NATS_USER: 'edge-proxy', NATS_PASSWORD: 's3cret', NATS_TLS_CA_FILE: '/etc/nats/ca.pem', NATS_TLS_CERT_FILE: '' }))).toEqual({
      user: 'edge-proxy',
      pass: 's3cret',
      tls: { caFile: '/etc/nats/ca.pem' },
    });
  });
});
