import { Injectable } from '@nestjs/common';
import { auditEventOf, AuditEventEntity } from './audit-event.entity';
import { csvRow } from './csv';
import type { ExportFormat } from './dto/export-events.dto';
import { EventFilter, EventsRepository } from './events.repository';

/** Rows fetched per query: the most an export holds in memory at once. */
export const EXPORT_BATCH_SIZE = 500;

const CSV_COLUMNS = [
  'seq', 'id', 'ts', 'traceId', 'principalId', 'principalKind', 'principalEmail', 'actorId', 'actorKind', 'actorEmail',
  'action', 'method', 'server', 'tool', 'credentialKind', 'credentialId', 'outcome', 'reason', 'latencyMs', 'prevHash', 'hash',
] as const;

/**
 * The whole matching trail, oldest first, as text chunks. A generator, so
 * the HTTP response pulls one batch at a time (keyset pagination on seq):
 * memory stays flat however many rows match, and a slow client slows the
 * queries down instead of filling a buffer.
 */
@Injectable()
export class EventsExportService {
  constructor(private readonly repository: EventsRepository) {}

  async *export(filter: EventFilter, format: ExportFormat, batchSize = EXPORT_BATCH_SIZE): AsyncGenerator<string> {
    if (format === 'csv') yield csvRow(CSV_COLUMNS);
    let afterSeq = 0;
    for (;;) {
      const rows = await this.repository.findAfter(filter, afterSeq, batchSize);
      if (rows.length === 0) return;
      yield rows.map(format === 'csv' ? csvLine : ndjsonLine).join('');
      if (rows.length < batchSize) return;
      afterSeq = rows[rows.length - 1].seq;
    }
  }
}

export function ndjsonLine(row: AuditEventEntity): string {
  return `${JSON.stringify({ seq: row.seq, ...auditEventOf(row), prevHash: row.prevHash, hash: row.hash })}\n`;
}

function csvLine(row: AuditEventEntity): string {
  return csvRow([
    row.seq, row.id, row.ts.toISOString(), row.traceId, row.principalId, row.principalKind, row.principalEmail, row.actorId, row.actorKind,
    row.actorEmail, row.action, row.method, row.server, row.tool, row.credentialKind, row.credentialId, row.outcome, row.reason, row.latencyMs,
    row.prevHash, row.hash,
  ]);
}
