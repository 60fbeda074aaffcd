import { DynamicModule, Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { UsersModule } from '../users/users.module';
import { BOOTSTRAP_ADMIN_TOKEN, BootstrapAdminService } from './bootstrap-admin.service';

@Module({})
export class BootstrapModule {
  static register(options: { bootstrapAdminToken?: string }): DynamicModule {
    return {
      module: BootstrapModule,
      imports: [UsersModule, ApiKeysModule],
      providers: [{ provide: BOOTSTRAP_ADMIN_TOKEN, useValue: options.bootstrapAdminToken }, BootstrapAdminService],
    };
  }
}
