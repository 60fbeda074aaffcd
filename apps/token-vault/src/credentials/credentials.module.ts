import { DynamicModule, Module } from '@nestjs/common';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { CredentialsHandler } from './credentials.handler';
import { CredentialsRepository } from './credentials.repository';
import { CredentialsService } from './credentials.service';

/** Encrypted upstream credentials: storage, the admin subjects and resolution for the edge. */
@Module({})
export class CredentialsModule {
  static register(options: { keyring: Keyring }): DynamicModule {
    return {
      module: CredentialsModule,
      providers: [
        { provide: Keyring, useValue: options.keyring },
        { provide: EnvelopeCipher, useFactory: (keyring: Keyring) => new EnvelopeCipher(keyring), inject: [Keyring] },
        CredentialsRepository,
        CredentialsService,
        CredentialsHandler,
      ],
    };
  }
}
