import { CreateEvents1763800000000 } from './1763800000000-create-events.migration';
import { AuditWriterRole1763900000000 } from './1763900000000-audit-writer-role.migration';
import { PartitionEvents1764000000000 } from './1764000000000-partition-events.migration';

/** Every migration of the `audit` schema, oldest first. */
export const auditMigrations = [CreateEvents1763800000000, AuditWriterRole1763900000000, PartitionEvents1764000000000];
