import { userPrincipalId } from '@portcullis/contracts';
import { Inject, Injectable } from '@nestjs/common';
import type { AuthenticateResponse, PrincipalRef } from '@portcullis/contracts';
import { randomUUID } from 'node:crypto';
import { decodeJwt, errors as jose, JWTPayload, jwtVerify, SignJWT } from 'jose';
import { Clock } from '../clock';
import { InvalidCredentialError } from '../errors';
import { JwtRejection, looksLikeJwt, rejectionOf } from '../jwt/jwt-authenticator.service';
import { tokenScopes } from '../jwt/token-scopes';
import { UserDirectoryRepository } from '../users/user-directory.repository';
import { virtualAccountPrincipalId } from '../virtual-accounts/dto/virtual-account.view';
import { VirtualAccountRepository } from '../virtual-accounts/virtual-account.repository';
import { SIGNING_ALGORITHM, SigningKeyService } from './signing-key.service';
import { TOKEN_EXCHANGE_OPTIONS, TokenExchangeOptions } from './token-exchange.options';

/** The longest a gateway JWT lives (never beyond its subject token either). */
export const GATEWAY_JWT_MAX_LIFETIME_SECONDS = 15 * 60;
export const GATEWAY_JWT_TYPE = 'at+jwt';
/** Where identity keeps what it needs to re-load the principal (not part of any standard). */
const PRIVATE_CLAIM = 'portcullis';

interface PrivateClaims {
  uid: string;
  va: string;
  idp?: string;
}

export interface GatewayJwtGrant {
  userId: string;
  subject: PrincipalRef & { idp?: string };
  actor: { id: string; name: string };
  /** Seconds since the epoch; null when the subject token never expires. */
  subjectExpiresAt: number | null;
  /** The `scope` claim: the subject token's scopes, narrowed to those asked for (`""` grants none); absent: not scope-limited. */
  scope?: string;
  resource?: string;
}

/** Signs and verifies the JWTs identity issues itself (token exchange): `iss` = `aud` = the gateway, ES256 only. */
@Injectable()
export class GatewayJwtService {
  constructor(
    private readonly keys: SigningKeyService,
    private readonly users: UserDirectoryRepository,
    private readonly virtualAccounts: VirtualAccountRepository,
    private readonly clock: Clock,
    @Inject(TOKEN_EXCHANGE_OPTIONS) private readonly options: TokenExchangeOptions,
  ) {}

  /** A JWT whose unverified `iss` is the gateway: identity checks it itself, never against an identity provider. */
  isGatewayJwt(token: string): boolean {
    if (!looksLikeJwt(token)) return false;
    try {
      return decodeJwt(token).iss === this.options.publicUrl;
    } catch {
      return false;
    }
  }

  /** Null when the subject token expires within the second: nothing useful could be issued. */
  async issue(grant: GatewayJwtGrant): Promise<{ token: string; expiresIn: number } | null> {
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const exp = Math.min(iat + GATEWAY_JWT_MAX_LIFETIME_SECONDS, grant.subjectExpiresAt ?? Number.POSITIVE_INFINITY);
    if (exp - iat < 1) return null;
    const { kid, key } = await this.keys.signingKey();
    const privateClaims: PrivateClaims = { uid: grant.userId, va: grant.actor.id, ...(grant.subject.idp ? { idp: grant.subject.idp } : {}) };
    const token = await new SignJWT({
      act: { sub: `virtualaccount:${grant.actor.name}` },
      ...(grant.scope !== undefined ? { scope: grant.scope } : {}),
      ...(grant.resource !== undefined ? { resource: grant.resource } : {}),
      [PRIVATE_CLAIM]: privateClaims,
    })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: GATEWAY_JWT_TYPE })
      .setIssuer(this.options.publicUrl)
      .setAudience(this.options.publicUrl)
      .setSubject(grant.subject.sub)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key);
    return { token, expiresIn: exp - iat };
  }

  /** The user the token was issued for, acting through its virtual account; re-loaded so a deactivated user or a removed permission counts at once. */
  async authenticate(token: string): Promise<AuthenticateResponse> {
    if (!this.keys.enabled) throw new JwtRejection('unknown_key', 'gateway');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.keyFor, {
        issuer: this.options.publicUrl,
        audience: this.options.publicUrl,
        algorithms: [SIGNING_ALGORITHM],
        typ: GATEWAY_JWT_TYPE,
        currentDate: this.clock.now(),
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'act'],
      }));
    } catch (error) {
      const rejection = rejectionOf(error, 'gateway');
      // Our own keys come from our database: nothing here is an unavailable provider.
      if (rejection instanceof JwtRejection) throw rejection;
      throw new JwtRejection(error instanceof jose.JOSEError ? 'malformed' : 'invalid_claims', 'gateway');
    }
    const claims = payload[PRIVATE_CLAIM] as Partial<PrivateClaims> | undefined;
    const act = payload['act'] as { sub?: unknown } | undefined;
    // Signed by us, so well-formed unless a key leaked; checked anyway so a bad id is a refusal, not a database error.
    if (!claims || !isUuid(claims.uid) || !isUuid(claims.va) || typeof act?.sub !== 'string') {
      throw new JwtRejection('invalid_claims', 'gateway');
    }
    const user = await this.users.findById(claims.uid);
    if (!user) throw new InvalidCredentialError('unknown');
    if (!user.active) throw new InvalidCredentialError('inactive_user');
    const account = await this.virtualAccounts.findById(claims.va);
    if (!account || !account.can_exchange || act.sub !== `virtualaccount:${account.name}`) throw new InvalidCredentialError('revoked');
    return {
      principal: {
        id: userPrincipalId(user.id),
        kind: 'user',
        sub: payload.sub!,
        ...(user.email ? { email: user.email } : {}),
        ...(user.display_name ? { displayName: user.display_name } : {}),
        teams: user.teams ?? [],
        // Delegation never carries administration.
        isAdmin: false,
        ...(claims.idp ? { idp: claims.idp } : {}),
        credentialId: payload.jti!,
        actor: { id: virtualAccountPrincipalId(account.id), kind: 'virtual_account', sub: account.name },
        // Signed by us from the subject token's scopes: a `scope` claim (even empty) limits the token, none leaves it unlimited.
        ...(typeof payload['scope'] === 'string' && { scopes: tokenScopes({ scope: payload['scope'] }) }),
      },
      expiresAt: new Date(payload.exp! * 1000).toISOString(),
    };
  }
}

function isUuid(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
