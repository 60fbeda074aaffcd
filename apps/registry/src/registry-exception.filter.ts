import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { ApiErrorBody } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import type { FastifyReply } from 'fastify';
import { InvalidRequestError, RegistryError, RegistryErrorCode, UnauthorizedError } from './errors';

const STATUS_OF: Record<RegistryErrorCode, number> = {
  invalid_request: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  precondition_failed: HttpStatus.PRECONDITION_FAILED,
  dependency_failed: HttpStatus.BAD_GATEWAY,
  dependency_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  internal: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** Maps every error of the admin API to its HTTP status and the `ApiErrorBody` shape. */
@Catch()
export class RegistryExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = this.describe(exception);
    if (exception instanceof UnauthorizedError) {
      // RFC 6750 §3: a missing token gets a bare challenge, a rejected one says why.
      void reply.header('WWW-Authenticate', exception.tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer');
    }
    if (status === HttpStatus.SERVICE_UNAVAILABLE) void reply.header('Retry-After', '5');
    void reply.status(status).send(body);
  }

  private describe(exception: unknown): { status: number; body: ApiErrorBody } {
    if (exception instanceof RegistryError) {
      const status = STATUS_OF[exception.code];
      if (status >= 500) this.log.error({ err: exception.cause ?? exception, code: exception.code }, exception.message);
      const issues = exception instanceof InvalidRequestError && exception.issues.length > 0 ? [...exception.issues] : undefined;
      return { status, body: { error: { code: exception.code, message: exception.message, ...(issues ? { issues } : {}) } } };
    }
    if (exception instanceof HttpException) {
      // Framework errors: an unknown route, a body that is not JSON, an unsupported media type.
      const status = exception.getStatus();
      if (status === HttpStatus.BAD_REQUEST) {
        return { status, body: { error: { code: 'invalid_request', message: 'the request body could not be read as JSON', issues: [{ path: '(body)', message: exception.message }] } } };
      }
      const code = (HttpStatus[status] ?? 'error').toLowerCase();
      return { status, body: { error: { code, message: exception.message } } };
    }
    this.log.error({ err: exception }, 'unexpected error in the admin API');
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { error: { code: 'internal', message: 'internal error' } } };
  }
}
