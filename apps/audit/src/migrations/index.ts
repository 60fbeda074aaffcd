import { CreateEvents1763800000000 } from './1763800000000-create-events.migration';

/** Every migration of the `audit` schema, oldest first. */
export const auditMigrations = [CreateEvents1763800000000];
