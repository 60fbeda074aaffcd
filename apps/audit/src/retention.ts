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
import { Clock } from './clock';
import { auditMigrations } from './migrations';
import { EventPartitions } from './partitions/event-partitions';
import { RetentionService } from './retention/retention.service';

/**
 * `node dist/apps/audit/retention.js --before 2025-01-01T00:00:00Z`: creates
 * the coming months' partitions, then drops every monthly partition of
 * events recorded before that instant — whole months only — as one verified
 * prefix of the chain, and records the removal in the chain. Run it as the
 * table owner (e.g. daily or monthly from cron).
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
    const clock = new Clock();
    const events = new EventsService(new EventsRepository(dataSource), new AuditTail(), clock);
    const retention = new RetentionService(dataSource, events, new EventPartitions(dataSource), () => clock.now());
    const result = await retention.purgeBefore(new Date(before), `operator ${userInfo().username}`);
    const wholeMonths =
      result.keptFrom === null
        ? 'retention drops whole calendar months (UTC) only: no month ended on or before the cutoff could be dropped'
        : `retention drops whole calendar months (UTC) only: every event recorded from ${result.keptFrom} on is kept`;
    logger.info(
      { ...result, before: new Date(before).toISOString(), wholeMonths },
      result.droppedPartitions.length > 0 ? 'audit retention dropped old partitions' : 'audit retention: nothing to drop',
    );
    if (result.heldBack.length > 0) {
      logger.warn({ heldBack: result.heldBack }, 'audit retention kept expired months: an older event sits in the default partition, and dropping them would cut the chain');
    }
  } finally {
    await dataSource.destroy();
  }
}

runService('audit-retention', main);
