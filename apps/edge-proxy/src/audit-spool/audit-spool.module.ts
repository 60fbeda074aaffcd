import { Module } from '@nestjs/common';
import { AuditSpool } from './audit-spool.service';

@Module({
  providers: [AuditSpool],
  exports: [AuditSpool],
})
export class AuditSpoolModule {}
