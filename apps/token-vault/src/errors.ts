import { BusError } from '@portcullis/bus';
import type { BusErrorCode } from '@portcullis/contracts';

export const VaultErrorCodes = {
  credentialNotFound: 'ERR_CREDENTIAL_NOT_FOUND',
  credentialUnreadable: 'ERR_CREDENTIAL_UNREADABLE',
  invalidHeaderSet: 'ERR_INVALID_HEADER_SET',
  invalidUserValues: 'ERR_INVALID_USER_VALUES',
  userTemplateNotFound: 'ERR_USER_TEMPLATE_NOT_FOUND',
  keyRotationIncomplete: 'ERR_KEY_ROTATION_INCOMPLETE',
  oauthNotConfigured: 'ERR_OAUTH_NOT_CONFIGURED',
  consentFlowNotFound: 'ERR_CONSENT_FLOW_NOT_FOUND',
  consentFlowRefused: 'ERR_CONSENT_FLOW_REFUSED',
  oauthProviderRefused: 'ERR_OAUTH_PROVIDER_REFUSED',
  oauthProviderUnavailable: 'ERR_OAUTH_PROVIDER_UNAVAILABLE',
  subjectTokenRequired: 'ERR_SUBJECT_TOKEN_REQUIRED',
} as const;
export type VaultErrorCode = (typeof VaultErrorCodes)[keyof typeof VaultErrorCodes];

/**
 * Base of every error token-vault raises on purpose; match on `code`. No
 * message ever carries a secret value: only ids, slugs and header names.
 */
export class VaultError extends Error {
  constructor(
    readonly code: VaultErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A server that needs a stored credential has none. */
export class CredentialNotFoundError extends VaultError {
  constructor(serverSlug: string) {
    super(VaultErrorCodes.credentialNotFound, `no credential configured for server ${serverSlug}`);
  }
}

/**
 * A stored value does not decrypt: tampered with, copied from another row, or
 * sealed under a key no longer in the keyring. The cause stays in the logs.
 */
export class CredentialUnreadableError extends VaultError {
  constructor(
    serverSlug: string,
    readonly credentialId: string,
    options?: { cause?: unknown },
  ) {
    super(VaultErrorCodes.credentialUnreadable, `a stored credential of server ${serverSlug} cannot be decrypted`, options);
  }
}

/** A header set the contract accepts but the vault cannot store as given (e.g. one name twice, differing in case). */
export class InvalidHeaderSetError extends VaultError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(VaultErrorCodes.invalidHeaderSet, message);
  }
}

/** An `oauth2` server whose OAuth settings are missing or lack what this grant needs (client id, endpoints). */
export class OAuthNotConfiguredError extends VaultError {
  constructor(serverSlugOrId: string, missing: string, options?: { cause?: unknown }) {
    super(VaultErrorCodes.oauthNotConfigured, `server ${serverSlugOrId} has no usable OAuth settings (${missing})`, options);
  }
}

/** No consent flow with this id (or it was deleted). */
export class ConsentFlowNotFoundError extends VaultError {
  constructor() {
    super(VaultErrorCodes.consentFlowNotFound, 'no such consent flow');
  }
}

/**
 * A consent step refused: unknown, replayed or expired state, a flow of
 * another principal, an issuer mix-up. `reason` is a fixed phrase, never input.
 */
export class ConsentFlowRefusedError extends VaultError {
  constructor(readonly reason: string) {
    super(VaultErrorCodes.consentFlowRefused, `consent flow refused: ${reason}`);
  }
}

/** The upstream authorization server answered with an OAuth error (`error` is its code, e.g. `access_denied`). */
export class OAuthProviderRefusedError extends VaultError {
  constructor(
    readonly error: string,
    options?: { cause?: unknown },
  ) {
    super(VaultErrorCodes.oauthProviderRefused, `the authorization server refused: ${error}`, options);
  }
}

/** The upstream authorization server could not be reached, timed out or answered 5xx. */
export class OAuthProviderUnavailableError extends VaultError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(VaultErrorCodes.oauthProviderUnavailable, `the authorization server is unavailable (${detail})`, options);
  }
}

/** A user's values for a `per_user` header template: a variable missing or unknown, or a rendered header invalid. */
export class InvalidUserValuesError extends VaultError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(VaultErrorCodes.invalidUserValues, message);
  }
}

/** User values sent for a server that has no `per_user` header template. */
export class UserTemplateNotFoundError extends VaultError {
  constructor(serverSlug: string) {
    super(VaultErrorCodes.userTemplateNotFound, `server ${serverSlug} takes no per-user header values`);
  }
}

/** Key rotation re-wrapped what it could, but some sealed values do not open: the old key must stay until they are fixed. */
export class KeyRotationIncompleteError extends VaultError {
  constructor(message: string) {
    super(VaultErrorCodes.keyRotationIncomplete, message);
  }
}

/** A `token_exchange` server called without the caller's IdP token to exchange (e.g. the caller used an API key). */
export class SubjectTokenRequiredError extends VaultError {
  constructor(serverSlug: string) {
    super(VaultErrorCodes.subjectTokenRequired, `server ${serverSlug} exchanges the caller's identity-provider token, and the call carried none`);
  }
}

const BUS_CODE_OF: Record<VaultErrorCode, BusErrorCode> = {
  ERR_CREDENTIAL_NOT_FOUND: 'NOT_FOUND',
  ERR_CREDENTIAL_UNREADABLE: 'INTERNAL',
  ERR_INVALID_HEADER_SET: 'INVALID_REQUEST',
  ERR_INVALID_USER_VALUES: 'INVALID_REQUEST',
  ERR_USER_TEMPLATE_NOT_FOUND: 'NOT_FOUND',
  ERR_KEY_ROTATION_INCOMPLETE: 'INTERNAL',
  ERR_OAUTH_NOT_CONFIGURED: 'NOT_FOUND',
  ERR_CONSENT_FLOW_NOT_FOUND: 'NOT_FOUND',
  ERR_CONSENT_FLOW_REFUSED: 'FORBIDDEN',
  ERR_OAUTH_PROVIDER_REFUSED: 'FORBIDDEN',
  ERR_OAUTH_PROVIDER_UNAVAILABLE: 'UNAVAILABLE',
  ERR_SUBJECT_TOKEN_REQUIRED: 'FORBIDDEN',
};

/** What a bus caller sees of a vault error; anything unexpected is left for the bus to report as INTERNAL. */
/** For a handler's `.catch`: rethrows as the bus error the caller sees. */
export function rethrowForBus(error: unknown): never {
  throw toBusError(error);
}

export function toBusError(error: unknown): unknown {
  if (!(error instanceof VaultError)) return error;
  const issues = error instanceof InvalidHeaderSetError || error instanceof InvalidUserValuesError ? error.issues : undefined;
  return new BusError(BUS_CODE_OF[error.code], error.message, issues);
}
