import { hostname } from 'node:os';
import type { LoggerService, LogLevel } from '@nestjs/common';
import pino from 'pino';

export type Logger = pino.Logger;

/** Accepted `LOG_LEVEL` values, for config schemas: `z.enum(LOG_LEVELS)`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LoggerLevel = (typeof LOG_LEVELS)[number];

export interface CreateLoggerOptions {
  service: string;
  /** Defaults to `info`. */
  level?: LoggerLevel | string;
  /** Defaults to stdout; tests pass a stream to read the lines back. */
  destination?: pino.DestinationStream;
}

export const REDACT_CENSOR = '[redacted]';

// Field names that carry credentials wherever they appear. pino's redaction
// has no "any depth" wildcard, so each is covered at the top level and two
// levels down (`*.x`, `*.*.x`; `*` also matches array indexes).
const SECRET_FIELDS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'clientSecret',
  'client_secret',
  'secret',
  'password',
  'apiKey',
  'api_key',
  'codeVerifier',
  'code_verifier',
  'privateKey',
] as const;

const segment = (key: string): string => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`);

/**
 * Paths pino replaces with {@link REDACT_CENSOR}. Nested `headers` maps are
 * censored whole: upstream header maps carry secrets under arbitrary names
 * (header-value auth). A top-level `headers` keeps its harmless entries.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((key) => [segment(key).replace(/^\./, ''), `*${segment(key)}`, `*.*${segment(key)}`]),
  '*.headers',
  '*.*.headers',
];

export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new TypeError(`unknown log level "${level}"; expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const pinoOptions: pino.LoggerOptions = {
    level,
    base: { service: options.service, pid: process.pid, hostname: hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
  };
  // pino's default destination is synchronous stdout, so a crash does not lose the last lines.
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

type PinoMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

const NEST_TO_PINO: Record<LogLevel, PinoMethod> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};
// Most to least verbose, so the first match is the threshold.
const NEST_LEVEL_ORDER: readonly LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

const looksLikeStack = (value: unknown): value is string =>
  typeof value === 'string' && /^.*\n\s+at .+/.test(value);

/**
 * Nest's LoggerService over pino, so framework messages come out as the same
 * JSON lines: `NestFactory.create(AppModule, adapter, { logger: new PinoNestLogger(log) })`.
 * Like Nest's ConsoleLogger, a trailing string argument is the context.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...optionalParams: unknown[]): void {
    this.write('info', message, optionalParams);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    const params = [...optionalParams];
    // Nest calls error(message, stack?, context?).
    let stack: string | undefined;
    if (params.length >= 2 && (typeof params[0] === 'string' || params[0] === undefined)) {
      stack = params.shift() as string | undefined;
    } else if (params.length === 1 && looksLikeStack(params[0])) {
      stack = params.shift() as string;
    }
    this.write('error', message, params, stack);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.write('warn', message, optionalParams);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.write('debug', message, optionalParams);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.write('trace', message, optionalParams);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.write('fatal', message, optionalParams);
  }

  setLogLevels(levels: LogLevel[]): void {
    const threshold = NEST_LEVEL_ORDER.find((level) => levels.includes(level));
    this.logger.level = threshold ? NEST_TO_PINO[threshold] : 'silent';
  }

  private write(method: PinoMethod, message: unknown, optionalParams: unknown[], stack?: string): void {
    const params = [...optionalParams];
    const fields: Record<string, unknown> = {};
    if (params.length > 0 && typeof params[params.length - 1] === 'string') {
      fields['context'] = params.pop();
    }
    if (stack !== undefined) fields['stack'] = stack;
    if (params.length > 0) fields['extra'] = params;

    if (message instanceof Error) {
      this.logger[method]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[method]({ ...(message as Record<string, unknown>), ...fields });
    } else {
      this.logger[method](fields, String(message));
    }
  }
}
