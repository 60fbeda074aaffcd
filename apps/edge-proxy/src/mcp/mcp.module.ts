import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { AuditSpoolModule } from '../audit-spool/audit-spool.module';
import { SessionsModule } from '../sessions/sessions.module';
import { EdgeCacheMetrics } from './cache.metrics';
import { McpAuditRecorder } from './mcp-audit.recorder';
import { McpMetrics } from './mcp.metrics';
import { McpProxyService } from './mcp-proxy.service';
import { McpRoutes } from './mcp.routes';
import { LegacySseUpstream } from './legacy-sse-upstream';
import { UpstreamClient } from './upstream.client';
import { VirtualServerProxy } from '../virtual/virtual-server.proxy';
import { VirtualUpstreamClient } from '../virtual/virtual-upstream.client';

@Module({
  imports: [AccessModule, AuditSpoolModule, SessionsModule],
  providers: [McpRoutes, McpProxyService, UpstreamClient, LegacySseUpstream, McpAuditRecorder, McpMetrics, EdgeCacheMetrics, VirtualServerProxy, VirtualUpstreamClient],
})
export class McpModule {}
