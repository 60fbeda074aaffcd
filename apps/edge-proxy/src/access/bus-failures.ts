import { BusError } from '@portcullis/bus';
import type { BusErrorCode } from '@portcullis/contracts';
import { DependencyUnavailableError } from '../errors';

/** Bus outcomes that say nothing about the request, only that the service could not answer it. */
const TRANSPORT_FAILURES: readonly BusErrorCode[] = ['TIMEOUT', 'UNAVAILABLE', 'INTERNAL', 'INVALID_RESPONSE'];

/** How long the edge waits for identity, registry or token-vault before failing closed. */
export const BUS_REQUEST_TIMEOUT_MS = 3000;

/** Whether `error` means `service` is down or broken (answer 503), rather than a verdict on the request. */
export function isServiceFailure(error: unknown): boolean {
  return !(error instanceof BusError) || TRANSPORT_FAILURES.includes(error.code);
}

export function serviceUnavailable(service: string, error: unknown): DependencyUnavailableError {
  return new DependencyUnavailableError(service, { cause: error });
}
