import { DynamicModule, Module } from '@nestjs/common';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { KeyRotationHandler } from './key-rotation.handler';
import { KeyRotationRepository } from './key-rotation.repository';
import { KeyRotationService, SEALED_COLUMNS } from './key-rotation.service';
import { VAULT_SEALED_COLUMNS } from './vault-sealed-columns';

/** Re-wrapping every sealed value under the active key: `vault.admin.keys.rotate` (the CLI is rotate-keys.main.ts). */
@Module({})
export class KeyRotationModule {
  static register(options: { keyring: Keyring }): DynamicModule {
    return {
      module: KeyRotationModule,
      providers: [
        { provide: Keyring, useValue: options.keyring },
        { provide: EnvelopeCipher, useFactory: (keyring: Keyring) => new EnvelopeCipher(keyring), inject: [Keyring] },
        { provide: SEALED_COLUMNS, useValue: VAULT_SEALED_COLUMNS },
        KeyRotationRepository,
        KeyRotationService,
        KeyRotationHandler,
      ],
    };
  }
}
