/**
 * Every error the audit service raises. `code` is stable (clients and the
 * exception filter branch on it); `cause` keeps the underlying failure for logs.
 * Messages never carry a secret: no token, no header value.
 */
export class AuditError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export const AuditErrorCodes = ['invalid_request', 'unauthenticated', 'invalid_token', 'forbidden', 'unavailable', 'internal'] as const;
export type AuditErrorCode = (typeof AuditErrorCodes)[number];

export interface FieldIssue {
  path: string;
  message: string;
}

/** A query parameter or body failed validation. */
export class InvalidRequestError extends AuditError {
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super('invalid_request', message);
  }
}

/** No bearer token was presented. */
export class MissingCredentialsError extends AuditError {
  constructor() {
    super('unauthenticated', 'a bearer token is required');
  }
}

/** A token was presented but identity did not accept it. */
export class InvalidTokenError extends AuditError {
  constructor(options?: { cause?: unknown }) {
    super('invalid_token', 'the bearer token is invalid, expired or revoked', options);
  }
}

/** The caller is known but lacks the permission the route declares. */
export class ForbiddenError extends AuditError {
  constructor(message = 'this principal may not read the audit log') {
    super('forbidden', message);
  }
}

/** A dependency (identity over the bus) did not answer: fail closed. */
export class DependencyUnavailableError extends AuditError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('unavailable', `${what} is unavailable, try again later`, options);
  }
}
