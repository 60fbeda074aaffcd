import { DEFAULT_OAUTH_OPTIONS } from '../oauth.options';
import { OAuthHttpClient } from './oauth-http.client';

describe(OAuthHttpClient.name, () => {
  it('never sends a request over plain http to a public host where private addresses are refused (secrets in clear)', async () => {
    const client = new OAuthHttpClient({ ...DEFAULT_OAUTH_OPTIONS, outboundAllowPrivate: false });
    try {
      await expect(client.postForm('http://as.example.com/token', { grant_type: 'refresh_token', refresh_token: 'rt' })).rejects.toMatchObject({ reason: 'insecure_transport' });
    } finally {
      await client.onModuleDestroy();
    }
  });
});
