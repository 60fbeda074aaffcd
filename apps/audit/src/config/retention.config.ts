import { loadConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';

/** The retention command's environment: the database (as its owner) and a log level. */
export const RetentionConfigSchema = z.object({ DATABASE_URL: Settings.databaseUrl(), LOG_LEVEL: Settings.logLevel() });
export type RetentionConfig = z.infer<typeof RetentionConfigSchema>;

/** Throws `ConfigError` (one line, no values) when the environment is wrong. */
export function loadRetentionConfig(env: NodeJS.ProcessEnv = process.env): RetentionConfig {
  return loadConfig(RetentionConfigSchema, env, 'audit-retention');
}
