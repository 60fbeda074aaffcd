/** RFC 6749 §5.2: an `error` value is printable ASCII without `"` and `\`. */
const OAUTH_ERROR_CODE = /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,100}$/;

/**
 * A provider's (or a callback's) `error` value when it is a well-formed OAuth
 * error code, else null: the only part of a provider's answer that may go into
 * a log line, an error message or an audit event (free text may echo anything).
 */
export function oauthErrorCodeOf(value: unknown): string | null {
  return typeof value === 'string' && OAUTH_ERROR_CODE.test(value) ? value : null;
}
