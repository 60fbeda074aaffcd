import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Controller, Get, Headers, Inject, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { LOGGER, Logger } from '@portcullis/telemetry';
import type { FastifyReply } from 'fastify';
import { AccessGuard } from '../access/access.guard';
import { RequirePermission } from '../access/require-permission.decorator';
import { AuditExceptionFilter } from '../audit-exception.filter';
import { InvalidRequestError } from '../errors';
import { ZodValidationPipe } from '../zod-validation.pipe';
import { ChainVerificationService } from './chain-verification.service';
import type { ListEventsResponse, VerifyChainResponse } from './dto/audit-event-view.dto';
import { ExportEventsQuery, ExportEventsQuerySchema } from './dto/export-events.dto';
import { ListEventsQuery, ListEventsQuerySchema } from './dto/list-events.dto';
import { LastEventIdSchema, StreamEventsQuery, StreamEventsQuerySchema } from './dto/stream-events.dto';
import { VerifyChainQuery, VerifyChainQuerySchema } from './dto/verify-chain.dto';
import { EventsExportService } from './events-export.service';
import { EventsStreamService } from './events-stream.service';
import { EventsService } from './events.service';

/** The compliance API (DESIGN §11). Every route declares its permission. */
@Controller('api/v1/audit')
@UseGuards(AccessGuard)
@UseFilters(AuditExceptionFilter)
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly verification: ChainVerificationService,
    private readonly exports: EventsExportService,
    private readonly streams: EventsStreamService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  @Get('events')
  @RequirePermission('audit:events:read')
  list(@Query(new ZodValidationPipe(ListEventsQuerySchema, 'query')) query: ListEventsQuery): Promise<ListEventsResponse> {
    return this.events.list(query);
  }

  /** The whole match, oldest first, streamed: NDJSON (one event per line) or CSV. */
  @Get('export')
  @RequirePermission('audit:events:export')
  export(@Query(new ZodValidationPipe(ExportEventsQuerySchema, 'query')) query: ExportEventsQuery, @Res() reply: FastifyReply): void {
    const { format, ...filter } = query;
    const body = Readable.from(this.exports.export(filter, format), { objectMode: false });
    body.on('error', (error) => this.log.error({ err: error }, 'audit export failed part way; the response was cut short'));
    void reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="audit-events.${format}"`)
      .header('cache-control', 'no-store')
      .send(body);
  }

  /** Live tail as server-sent events (`id` = seq); resumes after `Last-Event-ID`. */
  @Get('stream')
  @RequirePermission('audit:events:stream')
  async stream(
    @Query(new ZodValidationPipe(StreamEventsQuerySchema, 'query')) query: StreamEventsQuery,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { lastEventId: fromQuery, ...filter } = query;
    const fromHeader = LastEventIdSchema.safeParse(lastEventIdHeader);
    if (!fromHeader.success) throw new InvalidRequestError('invalid Last-Event-ID header: must be the id (seq) of an event', [{ path: 'Last-Event-ID', message: 'must be a seq' }]);
    const afterSeq = await this.streams.startSeq(fromHeader.data ?? fromQuery);
    const closed = new AbortController();
    reply.hijack();
    reply.raw.on('close', () => closed.abort());
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    try {
      // pipeline waits for 'drain', so a slow client pauses the tail instead of growing a buffer.
      await this.streams.track(pipeline(Readable.from(this.streams.frames(filter, afterSeq, closed.signal), { objectMode: false }), reply.raw));
    } catch (error) {
      if (!closed.signal.aborted) this.log.warn({ err: error }, 'audit stream ended with an error');
    }
  }

  @Get('verify')
  @RequirePermission('audit:chain:verify')
  verify(@Query(new ZodValidationPipe(VerifyChainQuerySchema, 'query')) query: VerifyChainQuery): Promise<VerifyChainResponse> {
    return this.verification.verifyRange(query);
  }
}
