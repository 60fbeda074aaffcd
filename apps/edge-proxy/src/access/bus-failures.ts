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

/**
 * How long the first attempt may take before it is asked once more with the
 * rest of the deadline: half of it. A replica that dies holding the request
 * never answers; the second attempt goes to a live replica of the queue group.
 */
export const FIRST_ATTEMPT_TIMEOUT_MS = BUS_REQUEST_TIMEOUT_MS / 2;
/** A second attempt on a timeout is only worth making with at least this much of the deadline left. */
const MIN_SECOND_ATTEMPT_MS = 500;

/** Whether `error` means `service` is down or broken (answer 503), rather than a verdict on the request. */
export function isServiceFailure(error: unknown): boolean {
  return !(error instanceof BusError) || TRANSPORT_FAILURES.includes(error.code);
}

export function serviceUnavailable(service: GatewayDependency, error: unknown): DependencyUnavailableError {
  return new DependencyUnavailableError(service, { cause: error });
}

/**
 * An idempotent request to identity, the registry or the vault (a read, or the
 * vault's resolve, whose refresh is serialized by a row lock and re-checked, so
 * asking twice refreshes once), within one deadline of
 * {@link BUS_REQUEST_TIMEOUT_MS}:
 * - UNAVAILABLE (no service received it, as in a rolling restart) is asked
 *   again after a jittered backoff, up to {@link READ_ATTEMPTS} attempts;
 * - a first attempt unanswered after {@link FIRST_ATTEMPT_TIMEOUT_MS} (a replica
 *   that died or hangs holding it) is asked once more with the rest of the
 *   deadline, never a second time, so a slow service sees at most twice the
 *   requests, not a storm.
 * The resolvers' caches share one load between concurrent misses, so an outage
 * costs a few bus requests per key, not per caller.
 */
export async function requestIdempotent<S extends RequestSubject>(bus: Bus, subject: S, payload: RequestOf<S>, random: () => number = Math.random): Promise<ResponseOf<S>> {
  // Real time, not the injected clock: this bounds a wait on the network, and the bus's own timeout is real time too.
  const deadline = performance.now() + BUS_REQUEST_TIMEOUT_MS;
  let timedOut = false;
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - performance.now();
    const timeoutMs = Math.max(1, Math.round(timedOut || attempt > 1 ? remaining : Math.min(FIRST_ATTEMPT_TIMEOUT_MS, remaining)));
    try {
      return await bus.request(subject, payload, { timeoutMs });
    } catch (error) {
      if (!(error instanceof BusError)) throw error;
      if (error.code === 'TIMEOUT') {
        if (timedOut || deadline - performance.now() < MIN_SECOND_ATTEMPT_MS) throw error;
        timedOut = true;
        continue;
      }
      const wait = backoffDelayMs(attempt, READ_BACKOFF, random);
      if (error.code !== 'UNAVAILABLE' || attempt >= READ_ATTEMPTS || performance.now() + wait >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
