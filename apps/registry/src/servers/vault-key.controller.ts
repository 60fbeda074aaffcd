import { Controller, HttpCode, Post } from '@nestjs/common';
import type { ResponseOf, RequestSubjects } from '@portcullis/contracts';
import { RequirePermission } from '../access/require-permission.decorator';
import { ServerVaultClient } from './server-vault.client';

/**
 * Re-wraps every secret in the vault under its active key (after a new key was
 * put first in `VAULT_KEYS`), so the old key can be removed. The same as
 * `npm run vault:rotate`, for deployments (all-in-one) where the command has no
 * direct way to the database.
 */
@Controller('api/v1/vault/keys')
export class VaultKeyController {
  constructor(private readonly vault: ServerVaultClient) {}

  @Post('rotate')
  @HttpCode(200)
  @RequirePermission('vault-keys:rotate')
  rotate(): Promise<ResponseOf<typeof RequestSubjects.vaultAdminKeysRotate>> {
    return this.vault.rotateKeys();
  }
}
