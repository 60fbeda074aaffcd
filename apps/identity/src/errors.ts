import { BusError } from '@portcullis/bus';
import type { BusErrorCode } from '@portcullis/contracts';

export const IdentityErrorCodes = {
  invalidCredential: 'ERR_INVALID_CREDENTIAL',
  apiKeyNotFound: 'ERR_API_KEY_NOT_FOUND',
  invalidRequest: 'ERR_INVALID_REQUEST',
  notFound: 'ERR_NOT_FOUND',
  conflict: 'ERR_CONFLICT',
  identityProviderUnavailable: 'ERR_IDENTITY_PROVIDER_UNAVAILABLE',
} as const;
export type IdentityErrorCode = (typeof IdentityErrorCodes)[keyof typeof IdentityErrorCodes];

/** Base of every error identity raises on purpose; match on `code`, never on the message. */
export class IdentityError extends Error {
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Why a presented credential was refused: for logs and metrics only, never for the caller. */
export type CredentialRejection =
  | 'unknown'
  | 'revoked'
  | 'expired'
  | 'inactive_user'
  // JWTs (identity provider tokens)
  | 'malformed'
  | 'unknown_issuer'
  | 'no_matching_provider'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'wrong_token_type'
  | 'missing_claim'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'invalid_claims'
  | 'unknown_virtual_account'
  | 'email_conflict'
  // OIDC browser login
  | 'login_refused';

/** A presented token does not authenticate anyone. Callers only ever learn "invalid token". */
export class InvalidCredentialError extends IdentityError {
  constructor(readonly reason: CredentialRejection) {
    super(IdentityErrorCodes.invalidCredential, 'invalid token');
  }
}

export class ApiKeyNotFoundError extends IdentityError {
  constructor() {
    super(IdentityErrorCodes.apiKeyNotFound, 'no API key with that id');
  }
}

/** A request an admin can fix; `issues` names each bad field. */
export class InvalidRequestError extends IdentityError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(IdentityErrorCodes.invalidRequest, message);
  }
}

export class InvalidApiKeyRequestError extends InvalidRequestError {}

export class NotFoundError extends IdentityError {
  constructor(message: string) {
    super(IdentityErrorCodes.notFound, message);
  }
}

export class ConflictError extends IdentityError {
  constructor(message: string) {
    super(IdentityErrorCodes.conflict, message);
  }
}

/** The JWKS or discovery document of an identity provider could not be fetched: we cannot tell, so we fail closed (503, not 401). */
export class IdentityProviderUnavailableError extends IdentityError {
  constructor(provider: string, options?: { cause?: unknown }) {
    super(IdentityErrorCodes.identityProviderUnavailable, `identity provider "${provider}" did not answer`, options);
  }
}

const BUS_CODE_OF: Record<IdentityErrorCode, BusErrorCode> = {
  ERR_INVALID_CREDENTIAL: 'UNAUTHENTICATED',
  ERR_API_KEY_NOT_FOUND: 'NOT_FOUND',
  ERR_INVALID_REQUEST: 'INVALID_REQUEST',
  ERR_NOT_FOUND: 'NOT_FOUND',
  ERR_CONFLICT: 'CONFLICT',
  ERR_IDENTITY_PROVIDER_UNAVAILABLE: 'UNAVAILABLE',
};

/** What a bus caller sees of an identity error; anything unexpected is left for the bus to report as INTERNAL. */
export function toBusError(error: unknown): unknown {
  if (!(error instanceof IdentityError)) return error;
  const issues = error instanceof InvalidRequestError ? error.issues : undefined;
  return new BusError(BUS_CODE_OF[error.code], error.message, issues);
}
