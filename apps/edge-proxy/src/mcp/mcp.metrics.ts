import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@portcullis/telemetry';
import type { Counter, Histogram } from 'prom-client';
import type { AuditOutcome } from './mcp-audit.recorder';
import type { JsonRpcCall } from './json-rpc';

/** Prometheus series of the MCP proxy. Labels are bounded: server slugs come from the registry, never from the URL alone. */
@Injectable()
export class McpMetrics {
  private readonly toolCalls: Counter<'server' | 'outcome'>;
  private readonly duration: Histogram<'server' | 'kind' | 'outcome'>;
  private readonly consents: Counter<'server'>;

  constructor(metrics: MetricsRegistry) {
    this.toolCalls = metrics.counter('portcullis_edge_tool_calls_total', 'Tool calls forwarded to upstream MCP servers', ['server', 'outcome']);
    this.duration = metrics.histogram(
      'portcullis_edge_mcp_request_duration_seconds',
      'Time from receiving a JSON-RPC request to the end of its response stream',
      ['server', 'kind', 'outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    );
    this.consents = metrics.counter('portcullis_edge_consent_required_total', 'Calls answered with a consent error (the user must connect the server first)', ['server']);
  }

  consentRequired(server: string): void {
    this.consents.inc({ server });
  }

  observe(server: string, calls: readonly JsonRpcCall[], outcome: AuditOutcome, latencyMs: number): void {
    for (const call of calls) {
      const kind = call.method === 'tools/call' ? 'tool_call' : 'other';
      if (kind === 'tool_call') this.toolCalls.inc({ server, outcome });
      this.duration.observe({ server, kind, outcome }, latencyMs / 1000);
    }
  }
}
