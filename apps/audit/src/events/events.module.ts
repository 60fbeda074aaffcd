import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { AuditWriterHandler } from './audit-writer.handler';
import { ChainVerificationService } from './chain-verification.service';
import { EventsController } from './events.controller';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';

@Module({
  imports: [AccessModule],
  controllers: [EventsController],
  providers: [EventsRepository, EventsService, ChainVerificationService, AuditWriterHandler],
  exports: [EventsService, ChainVerificationService],
})
export class EventsModule {}
