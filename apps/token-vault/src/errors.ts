import { BusError } from '@portcullis/bus';
import type { BusErrorCode } from '@portcullis/contracts';

export const VaultErrorCodes = {
  credentialNotFound: 'ERR_CREDENTIAL_NOT_FOUND',
  credentialUnreadable: 'ERR_CREDENTIAL_UNREADABLE',
  invalidHeaderSet: 'ERR_INVALID_HEADER_SET',
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

const BUS_CODE_OF: Record<VaultErrorCode, BusErrorCode> = {
  ERR_CREDENTIAL_NOT_FOUND: 'NOT_FOUND',
  ERR_CREDENTIAL_UNREADABLE: 'INTERNAL',
  ERR_INVALID_HEADER_SET: 'INVALID_REQUEST',
};

/** What a bus caller sees of a vault error; anything unexpected is left for the bus to report as INTERNAL. */
export function toBusError(error: unknown): unknown {
  if (!(error instanceof VaultError)) return error;
  const issues = error instanceof InvalidHeaderSetError ? error.issues : undefined;
  return new BusError(BUS_CODE_OF[error.code], error.message, issues);
}
