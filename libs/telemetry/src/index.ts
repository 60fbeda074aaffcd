export { ConfigError, TelemetryError, type ConfigIssue } from './errors';
export { exitOnConfigError, loadConfig, runService } from './config';
export { HealthRegistry, type ReadinessProbe, type ReadinessReport } from './health.registry';
export {
  createLogger,
  LOG_LEVELS,
  PinoNestLogger,
  REDACT_CENSOR,
  REDACT_PATHS,
  type CreateLoggerOptions,
  type Logger,
  type LoggerLevel,
} from './logger';
export { MetricsRegistry, type MetricsRegistryOptions } from './metrics';
export { ObservabilityController } from './observability.controller';
export { LOGGER, OBSERVABILITY_OPTIONS, ObservabilityModule, type ObservabilityOptions } from './observability.module';
export { startTracing, type TracingHandle } from './tracing';
export { natsAuthOf, NatsConnectionConfig, Settings, type NatsAuthSettings } from './settings';
