import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { openSchemaDataSource } from '@portcullis/persistence';
import type { Logger } from '@portcullis/telemetry';
import { VAULT_SCHEMA } from '../credentials/credential.entity';
import { vaultMigrations } from '../migrations';
import { KeyRotationRepository } from './key-rotation.repository';
import { KeyRotationService, RotationResult } from './key-rotation.service';
import type { SealedColumnsDescriptor } from './sealed-columns';
import { VAULT_SEALED_COLUMNS } from './vault-sealed-columns';

export interface RotateVaultKeysOptions {
  databaseUrl: string;
  keyring: Keyring;
  batchSize: number;
  logger: Logger;
  descriptors?: readonly SealedColumnsDescriptor[];
}

/**
 * One rotation run outside the service (`npm run vault:rotate`): opens the
 * vault schema (migrating it first, so the tables are the ones described),
 * re-wraps, closes.
 */
export async function rotateVaultKeys(options: RotateVaultKeysOptions): Promise<RotationResult> {
  const dataSource = await openSchemaDataSource({
    url: options.databaseUrl,
    schema: VAULT_SCHEMA,
    entities: [],
    migrations: vaultMigrations,
    poolSize: 2,
    applicationName: 'portcullis-vault-rotate',
  });
  try {
    const service = new KeyRotationService(
      new KeyRotationRepository(dataSource),
      new EnvelopeCipher(options.keyring),
      options.keyring,
      options.descriptors ?? VAULT_SEALED_COLUMNS,
      options.logger,
    );
    return await service.rotate({ batchSize: options.batchSize });
  } finally {
    await dataSource.destroy();
  }
}
