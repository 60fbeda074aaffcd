import { TOKEN_EXCHANGE_GRANT_TYPE, TokenExchangeRequest, TokenTypes } from '@portcullis/contracts';

/** RFC 6749 §5.2 / RFC 8693 §2.2.2 error codes the token endpoint answers with. */
export type TokenErrorCode = 'invalid_request' | 'invalid_client' | 'unauthorized_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_target';

export class TokenRequestError extends Error {
  constructor(
    readonly error: TokenErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}

const FORM = /^application\/x-www-form-urlencoded\s*(;.*)?$/i;
const SUBJECT_TOKEN_TYPES: readonly string[] = [TokenTypes.jwt, TokenTypes.accessToken];
const MAX_TOKEN_LENGTH = 8192;

/**
 * Reads an RFC 8693 token-exchange form. Every shape problem is
 * `invalid_request` (`unsupported_grant_type` for another grant, `invalid_target`
 * for an audience or resource that is not this gateway); the tokens themselves
 * are identity's to judge.
 */
export function parseTokenExchangeForm(contentType: string | undefined, body: unknown, publicUrl: string): TokenExchangeRequest {
  if (!contentType || !FORM.test(contentType)) throw new TokenRequestError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  const form = new URLSearchParams(typeof body === 'string' ? body : '');
  const seen = new Set<string>();
  for (const key of form.keys()) {
    // RFC 6749 §3.2: a parameter must not be included more than once.
    if (seen.has(key)) throw new TokenRequestError('invalid_request', `${key} is repeated`);
    seen.add(key);
  }
  const value = (name: string): string | undefined => {
    const v = form.get(name);
    return v === null || v === '' ? undefined : v;
  };
  const required = (name: string): string => {
    const v = value(name);
    if (v === undefined) throw new TokenRequestError('invalid_request', `${name} is missing`);
    if (v.length > MAX_TOKEN_LENGTH) throw new TokenRequestError('invalid_request', `${name} is too long`);
    return v;
  };

  const grantType = required('grant_type');
  if (grantType !== TOKEN_EXCHANGE_GRANT_TYPE) throw new TokenRequestError('unsupported_grant_type', `only ${TOKEN_EXCHANGE_GRANT_TYPE} is supported`);
  const subjectToken = required('subject_token');
  const subjectTokenType = required('subject_token_type');
  if (!SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) throw new TokenRequestError('invalid_request', 'subject_token_type must be a JWT or an access token');
  const actorToken = required('actor_token');
  if (required('actor_token_type') !== TokenTypes.accessToken) throw new TokenRequestError('invalid_request', `actor_token_type must be ${TokenTypes.accessToken}`);
  const requested = value('requested_token_type');
  if (requested !== undefined && requested !== TokenTypes.jwt && requested !== TokenTypes.accessToken) {
    throw new TokenRequestError('invalid_request', 'requested_token_type must be a JWT or an access token');
  }
  const audience = value('audience');
  if (audience !== undefined && audience !== publicUrl) throw new TokenRequestError('invalid_target', 'audience must be this gateway');
  const resource = value('resource');
  if (resource !== undefined && !isMcpResource(resource, publicUrl)) throw new TokenRequestError('invalid_target', `resource must be ${publicUrl}/mcp/{server}`);
  const scope = value('scope');
  if (scope !== undefined && (scope.length > 1000 || !/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/.test(scope))) {
    throw new TokenRequestError('invalid_request', 'scope is not a list of scope tokens');
  }
  return {
    actorToken,
    subjectToken,
    subjectTokenType: subjectTokenType as TokenExchangeRequest['subjectTokenType'],
    ...(scope !== undefined ? { scope } : {}),
    ...(resource !== undefined ? { resource } : {}),
  };
}

/** `{PUBLIC_URL}/mcp/{slug}` exactly: one path segment, no query, no fragment. */
export function isMcpResource(resource: string, publicUrl: string): boolean {
  const prefix = `${publicUrl}/mcp/`;
  if (!resource.startsWith(prefix) || resource.length > 2048) return false;
  return /^[A-Za-z0-9._~-]+$/.test(resource.slice(prefix.length));
}
