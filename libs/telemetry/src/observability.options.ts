import type { Logger } from './logger';

/** Injection token for the app's pino logger: `@Inject(LOGGER) private readonly log: Logger`. */
export const LOGGER = 'portcullis:LOGGER';
/** Injection token for the {@link ObservabilityOptions} given to `ObservabilityModule.forRoot`. */
export const OBSERVABILITY_OPTIONS = 'portcullis:OBSERVABILITY_OPTIONS';

export interface ObservabilityOptions {
  /** Service name, reported by `/healthz` and added as the `service` label on this app's metrics. */
  service: string;
  logger: Logger;
}
