import { BusError } from '@portcullis/bus';
import { ConflictError, DependencyFailedError, DependencyUnavailableError, fromBusError, InvalidRequestError, NotFoundError } from './errors';

describe(fromBusError.name, () => {
  it.each([
    ['UNAVAILABLE', DependencyUnavailableError],
    ['TIMEOUT', DependencyUnavailableError],
    ['INVALID_REQUEST', InvalidRequestError],
    ['NOT_FOUND', NotFoundError],
    ['CONFLICT', ConflictError],
    ['INTERNAL', DependencyFailedError],
    ['UNAUTHENTICATED', DependencyFailedError],
    ['INVALID_RESPONSE', DependencyFailedError],
  ] as const)('maps %s to %p', (code, type) => {
    expect(fromBusError('token-vault', new BusError(code, 'x'))).toBeInstanceOf(type);
  });

  it('names the dependency that did not answer', () => {
    expect(fromBusError('token-vault', new BusError('TIMEOUT', 'x')).message).toBe('token-vault did not answer');
  });

  it('keeps field issues of a refused request', () => {
    const mapped = fromBusError('identity', new BusError('INVALID_REQUEST', 'bad', [{ path: 'expiresAt', message: 'must be in the future' }]));
    expect((mapped as InvalidRequestError).issues).toEqual([{ path: 'expiresAt', message: 'must be in the future' }]);
  });

  it('does not pass an internal failure message through to the admin', () => {
    expect(fromBusError('token-vault', new BusError('INTERNAL', 'stack trace with details')).message).toBe('token-vault failed to handle the request');
  });
});
