import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { AuditSpoolModule } from '../audit-spool/audit-spool.module';
import { McpAuditRecorder } from './mcp-audit.recorder';
import { McpController } from './mcp.controller';
import { McpMetrics } from './mcp.metrics';
import { McpProxyService } from './mcp-proxy.service';
import { UpstreamClient } from './upstream.client';

@Module({
  imports: [AccessModule, AuditSpoolModule],
  controllers: [McpController],
  providers: [McpProxyService, UpstreamClient, McpAuditRecorder, McpMetrics],
})
export class McpModule {}
