import { Injectable } from '@nestjs/common';
import { OAuthProviderRefusedError, OAuthProviderUnavailableError } from '../../errors';
import type { TokenEndpointAuthMethod } from '../settings/oauth-settings.entity';
import { oauthErrorCodeOf } from './oauth-error-code';
import { OAuthHttpClient, OAuthTransportError, type FormResponse } from './oauth-http.client';

/** What the vault needs to call an authorization server's token and revocation endpoints. */
export interface OAuthClientConfig {
  clientId: string;
  /** In clear, only for the length of one call. */
  clientSecret: string | null;
  tokenUrl: string;
  revocationUrl: string | null;
  authMethod: TokenEndpointAuthMethod;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string | null;
  /** Seconds, as the provider said; null when it did not say. */
  expiresIn: number | null;
  /** The granted scopes when the provider named them. */
  scopes: string[] | null;
}

/** Token requests (RFC 6749 §3.2, RFC 8693) and revocation (RFC 7009), with the configured client authentication. */
@Injectable()
export class TokenEndpointClient {
  constructor(private readonly http: OAuthHttpClient) {}

  /**
   * @throws OAuthProviderRefusedError with the provider's `error` (e.g. `invalid_grant`)
   * @throws OAuthProviderUnavailableError on network errors, timeouts, 5xx and malformed answers
   */
  async requestToken(client: OAuthClientConfig, params: Record<string, string>): Promise<IssuedTokens> {
    const response = await this.post(client, client.tokenUrl, params);
    if (response.status >= 500 || response.status < 200 || (response.status >= 300 && response.status < 400)) {
      throw new OAuthProviderUnavailableError(`token endpoint answered ${response.status}`);
    }
    if (response.status >= 400) throw new OAuthProviderRefusedError(errorCodeOf(response));
    return issuedTokensOf(response.json);
  }

  /** Revokes one token; true when the provider accepted the request (RFC 7009 §2.2: 200 even for unknown tokens). */
  async revoke(client: OAuthClientConfig, token: string, hint: 'access_token' | 'refresh_token'): Promise<boolean> {
    if (!client.revocationUrl) return false;
    const response = await this.post(client, client.revocationUrl, { token, token_type_hint: hint });
    return response.status === 200;
  }

  private async post(client: OAuthClientConfig, url: string, params: Record<string, string>): Promise<FormResponse> {
    const form = { ...params };
    const headers: Record<string, string> = {};
    switch (client.authMethod) {
      case 'client_secret_basic':
        // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
        headers['authorization'] = `Basic ${Buffer.from(`${formEncode(client.clientId)}:${formEncode(client.clientSecret ?? '')}`).toString('base64')}`;
        break;
      case 'client_secret_post':
        form['client_id'] = client.clientId;
        form['client_secret'] = client.clientSecret ?? '';
        break;
      case 'none':
        form['client_id'] = client.clientId;
        break;
    }
    try {
      return await this.http.postForm(url, form, headers);
    } catch (error) {
      if (error instanceof OAuthTransportError) throw new OAuthProviderUnavailableError(error.reason, { cause: error });
      throw error;
    }
  }
}

const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');

function errorCodeOf(response: FormResponse): string {
  const code = response.json?.['error'];
  return oauthErrorCodeOf(code) ?? `http_${response.status}`;
}

function issuedTokensOf(body: Record<string, unknown> | null): IssuedTokens {
  const accessToken = body?.['access_token'];
  const tokenType = body?.['token_type'];
  if (typeof accessToken !== 'string' || accessToken.length === 0 || accessToken.length > 16_384) {
    throw new OAuthProviderUnavailableError('token response has no usable access_token');
  }
  // Only bearer tokens can be injected as a header; DPoP and others would need proofs per request.
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw new OAuthProviderUnavailableError('token response is not a bearer token');
  const refreshToken = body?.['refresh_token'];
  const expiresIn = Number(body?.['expires_in']);
  const scope = body?.['scope'];
  return {
    accessToken,
    refreshToken: typeof refreshToken === 'string' && refreshToken.length > 0 && refreshToken.length <= 16_384 ? refreshToken : null,
    expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null,
    scopes: typeof scope === 'string' ? scope.split(' ').filter((s) => s.length > 0) : null,
  };
}
