/** Base for every error this library throws; `code` is stable, match on it rather than on the message. */
export class TelemetryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface ConfigIssue {
  /** Environment variable name, or `(config)` for a rule spanning several. */
  variable: string;
  /** Why it was rejected; never contains the value. */
  reason: string;
}

/** A service's environment failed validation; `message` is one line naming every bad variable. */
export class ConfigError extends TelemetryError {
  constructor(
    readonly service: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super('ERR_CONFIG', `${service}: invalid configuration: ${issues.map((i) => `${i.variable} ${i.reason}`).join('; ')}`);
  }
}
