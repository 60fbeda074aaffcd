import { Controller, Get, Query, UseFilters, UseGuards } from '@nestjs/common';
import { AccessGuard } from '../access/access.guard';
import { RequirePermission } from '../access/require-permission.decorator';
import { AuditExceptionFilter } from '../audit-exception.filter';
import { ZodValidationPipe } from '../zod-validation.pipe';
import { ChainVerificationService } from './chain-verification.service';
import type { ListEventsResponse, VerifyChainResponse } from './dto/audit-event-view.dto';
import { ListEventsQuery, ListEventsQuerySchema } from './dto/list-events.dto';
import { EventsService } from './events.service';

/** The compliance API (DESIGN §11). Every route declares its permission. */
@Controller('api/v1/audit')
@UseGuards(AccessGuard)
@UseFilters(AuditExceptionFilter)
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly verification: ChainVerificationService,
  ) {}

  @Get('events')
  @RequirePermission('audit:events:read')
  list(@Query(new ZodValidationPipe(ListEventsQuerySchema, 'query')) query: ListEventsQuery): Promise<ListEventsResponse> {
    return this.events.list(query);
  }

  @Get('verify')
  @RequirePermission('audit:chain:verify')
  verify(): Promise<VerifyChainResponse> {
    return this.verification.verify();
  }
}
