import { BusError } from '@portcullis/bus';

/**
 * Every error the registry raises on purpose. `code` is stable (clients and
 * the exception filter branch on it); `cause` keeps the underlying failure
 * for logs. Messages never carry a secret: no token, no header value.
 */
export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export const RegistryErrorCodes = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'precondition_failed',
  'dependency_failed',
  'dependency_unavailable',
  'internal',
] as const;
export type RegistryErrorCode = (typeof RegistryErrorCodes)[number];

export interface FieldIssue {
  /** JSON path of the offending field (`headers.X-Api-Key`), or `(body)` for the body as a whole. */
  path: string;
  message: string;
}

/** A body, query or path parameter failed validation; `issues` names every bad field. */
export class InvalidRequestError extends RegistryError {
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super('invalid_request', message);
  }
}

/** No bearer token, or one identity does not accept. */
export class UnauthorizedError extends RegistryError {
  constructor(
    readonly tokenPresented: boolean,
    options?: { cause?: unknown },
  ) {
    super('unauthorized', tokenPresented ? 'the bearer token is invalid, expired or revoked' : 'a bearer token is required', options);
  }
}

/** The caller is known but may not do this. */
export class ForbiddenError extends RegistryError {
  constructor(message = 'this principal may not use the admin API') {
    super('forbidden', message);
  }
}

export class NotFoundError extends RegistryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('not_found', message, options);
  }
}

export class ServerNotFoundError extends NotFoundError {
  constructor(slug: string) {
    super(`no server with slug "${slug.slice(0, 100)}"`);
  }
}

export class ConflictError extends RegistryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('conflict', message, options);
  }
}

export class SlugTakenError extends ConflictError {
  constructor(slug: string, options?: { cause?: unknown }) {
    super(`a server or virtual server with slug "${slug}" already exists`, options);
  }
}

export class GroupNotFoundError extends NotFoundError {
  constructor(name: string) {
    super(`no group named "${name.slice(0, 100)}"`);
  }
}

/** `If-Match` named a version that is no longer current: someone else changed the resource first. */
export class PreconditionFailedError extends RegistryError {
  constructor(what: string) {
    super('precondition_failed', `${what} was changed by someone else (If-Match does not match the current ETag); read it again and retry`);
  }
}

export type Dependency = 'identity' | 'token-vault';

/** A service the registry needs did not answer in time: fail closed, try again later. */
export class DependencyUnavailableError extends RegistryError {
  constructor(
    readonly dependency: Dependency,
    options?: { cause?: unknown },
  ) {
    super('dependency_unavailable', `${dependency} did not answer`, options);
  }
}

/** A service the registry needs answered with an error the caller cannot fix. */
export class DependencyFailedError extends RegistryError {
  constructor(
    readonly dependency: Dependency,
    options?: { cause?: unknown },
  ) {
    super('dependency_failed', `${dependency} failed to handle the request`, options);
  }
}

/**
 * Translates a failed bus request to `dependency` into a registry error.
 * Only the codes a caller can act on pass through; the rest become 502, with
 * the original kept as `cause` for the log.
 */
export function fromBusError(dependency: Dependency, error: unknown): Error {
  if (!(error instanceof BusError)) return error instanceof Error ? error : new Error(String(error));
  switch (error.code) {
    case 'UNAVAILABLE':
    case 'TIMEOUT':
      return new DependencyUnavailableError(dependency, { cause: error });
    case 'INVALID_REQUEST':
      return new InvalidRequestError(error.message, error.issues ?? []);
    case 'NOT_FOUND':
      return new NotFoundError(error.message, { cause: error });
    case 'CONFLICT':
      return new ConflictError(error.message, { cause: error });
    default:
      return new DependencyFailedError(dependency, { cause: error });
  }
}

/** An upstream server a save must consult (to list its tools) could not be reached: nothing is saved. */
export class UpstreamUnreachableError extends RegistryError {
  constructor(slug: string, options?: { cause?: unknown }) {
    super('dependency_unavailable', `upstream server "${slug.slice(0, 100)}" could not be reached to list its tools; nothing was saved`, options);
  }
}
