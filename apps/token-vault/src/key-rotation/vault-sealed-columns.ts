import { credentialSealedColumns } from '../credentials/credential-sealed-columns';
import { oauthSealedColumns } from '../oauth/sealed-columns';
import type { SealedColumnsDescriptor } from './sealed-columns';

/**
 * Every table of the vault that holds sealed values: the one list key
 * rotation walks. A feature that seals values in a new table adds its
 * descriptor here.
 */
export const VAULT_SEALED_COLUMNS: readonly SealedColumnsDescriptor[] = [credentialSealedColumns, ...oauthSealedColumns];
