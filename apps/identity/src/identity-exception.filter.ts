import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { ApiErrorBody } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import type { FastifyReply } from 'fastify';

/**
 * Identity serves only health and metrics over HTTP (its real work is on the
 * bus), so this filter only shapes framework errors (an unknown path, say)
 * as `ApiErrorBody` and hides anything unexpected behind a 500.
 */
@Catch()
export class IdentityExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status: number = HttpStatus.INTERNAL_SERVER_ERROR;
    let body: ApiErrorBody = { error: { code: 'internal', message: 'internal error' } };
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      body = { error: { code: (HttpStatus[status] ?? 'error').toLowerCase(), message: exception.message } };
    } else {
      this.log.error({ err: exception }, 'unexpected error in an identity HTTP route');
    }
    void reply.status(status).send(body);
  }
}
