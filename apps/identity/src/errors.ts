import { BusError } from '@portcullis/bus';
import type { BusErrorCode } from '@portcullis/contracts';

export const IdentityErrorCodes = {
  invalidCredential: 'ERR_INVALID_CREDENTIAL',
  apiKeyNotFound: 'ERR_API_KEY_NOT_FOUND',
  invalidRequest: 'ERR_INVALID_REQUEST',
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
export type CredentialRejection = 'unknown' | 'revoked' | 'expired' | 'inactive_user';

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

export class InvalidApiKeyRequestError extends IdentityError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(IdentityErrorCodes.invalidRequest, message);
  }
}

const BUS_CODE_OF: Record<IdentityErrorCode, BusErrorCode> = {
  ERR_INVALID_CREDENTIAL: 'UNAUTHENTICATED',
  ERR_API_KEY_NOT_FOUND: 'NOT_FOUND',
  ERR_INVALID_REQUEST: 'INVALID_REQUEST',
};

/** What a bus caller sees of an identity error; anything unexpected is left for the bus to report as INTERNAL. */
export function toBusError(error: unknown): unknown {
  if (!(error instanceof IdentityError)) return error;
  const issues = error instanceof InvalidApiKeyRequestError ? error.issues : undefined;
  return new BusError(BUS_CODE_OF[error.code], error.message, issues);
}
