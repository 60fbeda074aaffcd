import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { AuditTail } from './audit-tail';
import { AuditWriterHandler } from './audit-writer.handler';
import { ChainVerificationService } from './chain-verification.service';
import { EventsController } from './events.controller';
import { EventsExportService } from './events-export.service';
import { EventsStreamService } from './events-stream.service';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';

@Module({
  imports: [AccessModule],
  controllers: [EventsController],
  providers: [EventsRepository, EventsService, ChainVerificationService, AuditWriterHandler, AuditTail, EventsExportService, EventsStreamService],
  exports: [EventsService, ChainVerificationService],
})
export class EventsModule {}
