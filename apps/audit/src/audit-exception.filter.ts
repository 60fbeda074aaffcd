import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { ApiErrorBody } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import type { FastifyReply } from 'fastify';
import { AuditError, AuditErrorCode, InvalidRequestError } from './errors';

const STATUS_OF: Record<AuditErrorCode, number> = {
  invalid_request: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  invalid_token: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  internal: HttpStatus.INTERNAL_SERVER_ERROR,
};

// RFC 6750 §3: a missing token gets a bare challenge, a rejected one says why.
const CHALLENGE_OF: Partial<Record<AuditErrorCode, string>> = {
  unauthenticated: 'Bearer',
  invalid_token: 'Bearer error="invalid_token"',
};

/** Maps every error of the compliance API to its HTTP status and the `ApiErrorBody` shape. */
@Catch()
export class AuditExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, challenge } = this.describe(exception);
    if (challenge) void reply.header('WWW-Authenticate', challenge);
    void reply.status(status).send(body);
  }

  private describe(exception: unknown): { status: number; body: ApiErrorBody; challenge?: string } {
    if (exception instanceof AuditError) {
      if (exception.code === 'unavailable' || exception.code === 'internal') {
        this.log.error({ err: exception.cause ?? exception, code: exception.code }, exception.message);
      }
      const issues = exception instanceof InvalidRequestError && exception.issues.length > 0 ? [...exception.issues] : undefined;
      return {
        status: STATUS_OF[exception.code],
        body: { error: { code: exception.code, message: exception.message, ...(issues ? { issues } : {}) } },
        challenge: CHALLENGE_OF[exception.code],
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = (HttpStatus[status] ?? 'error').toLowerCase();
      return { status, body: { error: { code, message: exception.message } } };
    }
    this.log.error({ err: exception }, 'unexpected error in the audit API');
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { error: { code: 'internal', message: 'internal error' } } };
  }
}
