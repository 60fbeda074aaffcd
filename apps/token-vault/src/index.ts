export { TokenVaultModule, type TokenVaultModuleOptions } from './token-vault.module';
export { TokenVaultConfigSchema, loadTokenVaultConfig, type TokenVaultConfig } from './config/token-vault.config';
export { VAULT_SCHEMA } from './credentials/credential.entity';
export { Clock } from './clock';
