import 'reflect-metadata';
import { RotateVaultKeysRequestSchema } from '@portcullis/contracts';
import { createLogger, loadConfig, runService } from '@portcullis/telemetry';
import { TokenVaultConfigSchema } from '../config/token-vault.config';
import { VaultError } from '../errors';
import { rotateVaultKeys } from './rotate-vault-keys';

/**
 * `npm run vault:rotate [-- --batch-size N]`: re-wraps every sealed value
 * under the first key of VAULT_KEYS and prints {rewrapped, alreadyCurrent,
 * activeKeyId}. Safe to rerun, and to run while the vault serves.
 */
const RotateConfigSchema = TokenVaultConfigSchema.pick({ DATABASE_URL: true, VAULT_KEYS: true, LOG_LEVEL: true });

runService('vault:rotate', async () => {
  const config = loadConfig(RotateConfigSchema, process.env, 'vault:rotate');
  const request = RotateVaultKeysRequestSchema.safeParse({ batchSize: batchSizeArgument(process.argv.slice(2)) });
  if (!request.success) {
    process.stderr.write('vault:rotate: --batch-size must be a whole number from 1 to 10000\n');
    process.exitCode = 2;
    return;
  }
  const { batchSize } = request.data;
  const logger = createLogger({ service: 'token-vault', level: config.LOG_LEVEL });
  try {
    const result = await rotateVaultKeys({ databaseUrl: config.DATABASE_URL, keyring: config.VAULT_KEYS, batchSize, logger });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    process.stderr.write(`vault:rotate: ${error.message}\n`);
    process.exitCode = 1;
  }
});

function batchSizeArgument(args: string[]): number | undefined {
  const at = args.findIndex((arg) => arg === '--batch-size' || arg.startsWith('--batch-size='));
  if (at < 0) return undefined;
  const text = args[at].includes('=') ? args[at].split('=')[1] : args[at + 1];
  return Number(text);
}
