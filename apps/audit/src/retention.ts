import 'reflect-metadata';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { openSchemaDataSource } from '@portcullis/persistence';
import { createLogger, runService } from '@portcullis/telemetry';
import { loadRetentionConfig } from './config/retention.config';
import { AUDIT_SCHEMA, AuditEventEntity } from './events/audit-event.entity';
import { AuditTail } from './events/audit-tail';
import { EventsRepository } from './events/events.repository';
import { EventsService } from './events/events.service';
import { auditMigrations } from './migrations';
import { RetentionService } from './retention/retention.service';

/**
 * `node dist/apps/audit/retention.js --before 2025-01-01T00:00:00Z`: removes
 * the audit events stored before that instant (as one verified prefix of the
 * chain) and records the removal in the chain. Run it as the table owner.
 */
async function main(): Promise<void> {
  const config = loadRetentionConfig();
  const logger = createLogger({ service: 'audit-retention', level: config.LOG_LEVEL });
  const { values } = parseArgs({ options: { before: { type: 'string' } }, strict: true });
  const before = values.before === undefined ? NaN : Date.parse(values.before);
  if (!Number.isFinite(before)) {
    process.stderr.write('audit-retention: --before <ISO date> is required, e.g. --before 2025-01-01T00:00:00Z\n');
    process.exit(2);
  }
  const dataSource = await openSchemaDataSource({ url: config.DATABASE_URL, schema: AUDIT_SCHEMA, entities: [AuditEventEntity], migrations: auditMigrations, poolSize: 2 });
  try {
    const events = new EventsService(new EventsRepository(dataSource), new AuditTail());
    const result = await new RetentionService(dataSource, events).purgeBefore(new Date(before), `operator ${userInfo().username}`);
    logger.info({ ...result, before: new Date(before).toISOString() }, result.deleted > 0 ? 'audit retention removed old events' : 'audit retention: nothing to remove');
  } finally {
    await dataSource.destroy();
  }
}

runService('audit-retention', main);
