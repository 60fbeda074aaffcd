import { userPrincipalId } from '@portcullis/contracts';
import { Injectable } from '@nestjs/common';
import type { AuthenticateResponse, Principal } from '@portcullis/contracts';
import { decodeJwt, errors as jose, JWTPayload, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { Clock } from '../clock';
import { CredentialRejection, IdentityProviderUnavailableError, InvalidCredentialError } from '../errors';
import type { IdentityProviderEntity } from '../identity-providers/identity-provider.entity';
import { IdentityProviderRepository } from '../identity-providers/identity-provider.repository';
import { claimValue, selectProvider } from './claim-rules';
import { ExternalIdentityProvisioner } from './external-identity.provisioner';
import { JwksCache } from './jwks-cache';
import { tokenScopes } from './token-scopes';
import { virtualAccountPrincipalId } from '../virtual-accounts/dto/virtual-account.view';

/** Three base64url segments (the last empty for `alg: none`): a JWS in compact form, not a gateway API key. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_GROUPS = 200;

export function looksLikeJwt(token: string): boolean {
  return COMPACT_JWS.test(token);
}

/** What a refused JWT is logged with: never the token, at most which provider and why. */
export class JwtRejection extends InvalidCredentialError {
  constructor(
    reason: CredentialRejection,
    readonly identityProvider?: string,
    readonly detail?: string,
  ) {
    super(reason);
  }
}

/** Access tokens of the customer's identity providers → principals. */
@Injectable()
export class JwtAuthenticator {
  constructor(
    private readonly providers: IdentityProviderRepository,
    private readonly keys: JwksCache,
    private readonly provisioner: ExternalIdentityProvisioner,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async authenticate(token: string): Promise<AuthenticateResponse> {
    const provider = await this.selectProvider(token);
    const payload = await this.verify(token, provider);
    const principal = await this.principalOf(provider, payload);
    return { principal, expiresAt: new Date(payload.exp! * 1000).toISOString() };
  }

  /**
   * The issuer and claims are read unverified here only to choose which
   * provider's keys and rules apply; nothing is trusted before `verify`.
   */
  private async selectProvider(token: string): Promise<IdentityProviderEntity> {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new JwtRejection('malformed');
    }
    if (typeof claims.iss !== 'string') throw new JwtRejection('malformed', undefined, 'no iss');
    const candidates = (await this.providers.findByIssuer(claims.iss)).filter((p) => p.settings.enabled);
    if (candidates.length === 0) throw new JwtRejection('unknown_issuer');
    const chosen = selectProvider(candidates, claims);
    if (!chosen) throw new JwtRejection('no_matching_provider');
    return chosen;
  }

  private async verify(token: string, provider: IdentityProviderEntity): Promise<JWTPayload> {
    const { settings } = provider;
    const keys = await this.keys.keysOf(provider);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audiences,
        // Only asymmetric algorithms exist in the settings schema: never `none`, never HMAC.
        algorithms: settings.allowedAlgorithms,
        clockTolerance: settings.clockSkewSeconds,
        typ: settings.accessTokenType ?? undefined,
        currentDate: this.clock.now(),
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw rejectionOf(error, provider.name);
    }
    // Same claims as selected on, now verified; checked again so no rule ever rests on unverified data.
    if (selectProvider([provider], payload) === undefined) throw new JwtRejection('no_matching_provider', provider.name);
    return payload;
  }

  private async principalOf(provider: IdentityProviderEntity, payload: JWTPayload): Promise<Principal> {
    const { settings } = provider;
    const subject = claimValue(payload, settings.subjectClaim);
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > 1000) throw new JwtRejection('missing_claim', provider.name, settings.subjectClaim);
    const emailClaim = settings.emailClaim === null ? undefined : claimValue(payload, settings.emailClaim);
    const email = typeof emailClaim === 'string' && emailClaim.includes('@') && emailClaim.length <= 320 ? emailClaim.toLowerCase() : null;
    const groups = settings.groupsClaim === null ? null : groupsOf(claimValue(payload, settings.groupsClaim));
    const name = typeof payload['name'] === 'string' ? payload['name'].slice(0, 200) : null;
    // An identity provider's token is always scope-limited: no scope claim grants none.
    const scopes = tokenScopes(payload);

    if (settings.mapsTo === 'virtual_account') {
      const rows = (await this.dataSource.query(`SELECT id, name FROM "identity"."virtual_accounts" WHERE name = $1 AND deactivated_at IS NULL`, [settings.virtualAccount])) as {
        id: string;
        name: string;
      }[];
      if (rows.length === 0) throw new JwtRejection('unknown_virtual_account', provider.name);
      return { id: virtualAccountPrincipalId(rows[0].id), kind: 'virtual_account', sub: rows[0].name, teams: [], isAdmin: false, idp: provider.name, scopes };
    }
    if (settings.mapsTo === 'external') {
      return {
        id: `external:${provider.name}/${subject}`,
        kind: 'external',
        sub: subject,
        ...(email ? { email } : {}),
        teams: groups ?? [],
        isAdmin: false,
        idp: provider.name,
        scopes,
      };
    }
    const user = await this.provisioner.provision({ providerId: provider.id, subject, email, displayName: name, groups }, this.clock.now());
    if (!user.active) throw new JwtRejection('inactive_user', provider.name);
    return {
      id: userPrincipalId(user.id),
      kind: 'user',
      sub: subject,
      ...(user.email ? { email: user.email } : {}),
      ...(user.displayName ? { displayName: user.displayName } : {}),
      teams: user.teams,
      isAdmin: user.isAdmin,
      ...(user.isAuditor && { isAuditor: true }),
      idp: provider.name,
      scopes,
    };
  }
}

function groupsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const names = list.filter((g): g is string => typeof g === 'string').map((g) => g.trim()).filter((g) => g.length > 0 && g.length <= 200);
  return [...new Set(names)].slice(0, MAX_GROUPS);
}

/** jose's stable error codes → why we refused; anything else (the JWKS could not be fetched) means we could not tell. */
export function rejectionOf(error: unknown, provider: string): Error {
  if (error instanceof jose.JWTExpired) return new JwtRejection('expired', provider);
  if (error instanceof jose.JWTClaimValidationFailed) {
    const byClaim: Record<string, CredentialRejection> = { nbf: 'not_yet_valid', iat: 'not_yet_valid', aud: 'wrong_audience', iss: 'wrong_issuer', typ: 'wrong_token_type' };
    return new JwtRejection(byClaim[error.claim] ?? (error.reason === 'missing' ? 'missing_claim' : 'invalid_claims'), provider, error.claim);
  }
  if (error instanceof jose.JOSEAlgNotAllowed || error instanceof jose.JOSENotSupported) return new JwtRejection('algorithm_not_allowed', provider);
  if (error instanceof jose.JWKSNoMatchingKey || error instanceof jose.JWKSMultipleMatchingKeys) return new JwtRejection('unknown_key', provider);
  if (error instanceof jose.JWSSignatureVerificationFailed) return new JwtRejection('bad_signature', provider);
  if (error instanceof jose.JWSInvalid || error instanceof jose.JWTInvalid) return new JwtRejection('malformed', provider);
  return new IdentityProviderUnavailableError(provider, { cause: error });
}
