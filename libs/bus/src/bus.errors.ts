import type { BusErrorBody, BusErrorCode } from '@portcullis/contracts';

/** A bus request that failed, with a stable code callers branch on. */
export class BusError extends Error {
  override readonly name = 'BusError';

  constructor(
    readonly code: BusErrorCode,
    message: string,
    readonly issues?: BusErrorBody['issues'],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toBody(): BusErrorBody {
    return this.issues ? { code: this.code, message: this.message, issues: this.issues } : { code: this.code, message: this.message };
  }

  static fromBody(body: BusErrorBody): BusError {
    return new BusError(body.code, body.message, body.issues);
  }
}
