import { backoffDelayMs, Bus, BusError } from '@portcullis/bus';
import type { BusErrorCode, RequestOf, RequestSubject, ResponseOf } from '@portcullis/contracts';
import { DependencyUnavailableError, type GatewayDependency } from '../errors';

/** Bus outcomes that say nothing about the request, only that the service could not answer it. */
const TRANSPORT_FAILURES: readonly BusErrorCode[] = ['TIMEOUT', 'UNAVAILABLE', 'INTERNAL', 'INVALID_RESPONSE'];

/** How long the edge waits for identity, registry or token-vault before failing closed. */
export const BUS_REQUEST_TIMEOUT_MS = 3000;

/** Attempts of one read whose request no service received, and the backoff between them (jittered, capped). */
export const READ_ATTEMPTS = 3;
const READ_BACKOFF = { firstMs: 100, maxMs: 400 } as const;

/** Whether `error` means `service` is down or broken (answer 503), rather than a verdict on the request. */
export function isServiceFailure(error: unknown): boolean {
  return !(error instanceof BusError) || TRANSPORT_FAILURES.includes(error.code);
}

export function serviceUnavailable(service: GatewayDependency, error: unknown): DependencyUnavailableError {
  return new DependencyUnavailableError(service, { cause: error });
}

/**
 * An idempotent read of identity or the registry, within one deadline of
 * {@link BUS_REQUEST_TIMEOUT_MS}. Only UNAVAILABLE is asked again: no service
 * received the request (no responders, as in a rolling restart), so a retry
 * can neither repeat work nor add load to a struggling service; a TIMEOUT is
 * not retried (the deadline is spent, and the service may be overloaded).
 * The resolvers' caches share one load between concurrent misses, so an outage
 * costs at most {@link READ_ATTEMPTS} bus requests per key, not per caller.
 */
export async function requestRead<S extends RequestSubject>(bus: Bus, subject: S, payload: RequestOf<S>, random: () => number = Math.random): Promise<ResponseOf<S>> {
  // Real time, not the injected clock: this bounds a wait on the network, and the bus's own timeout is real time too.
  const deadline = performance.now() + BUS_REQUEST_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await bus.request(subject, payload, { timeoutMs: Math.max(1, Math.round(deadline - performance.now())) });
    } catch (error) {
      const wait = backoffDelayMs(attempt, READ_BACKOFF, random);
      const retry = error instanceof BusError && error.code === 'UNAVAILABLE' && attempt < READ_ATTEMPTS && performance.now() + wait < deadline;
      if (!retry) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
