import type { SealedColumnsDescriptor } from '../key-rotation/sealed-columns';
import { nullableTextColumn, textColumn } from '../key-rotation/sealed-columns';
import { credentialAssociatedData } from './credential-binding';
import { VAULT_SCHEMA } from './credential.entity';

/** `vault.credentials` for key rotation: global headers, per-user templates and every user's values. */
export const credentialSealedColumns: SealedColumnsDescriptor = {
  table: `${VAULT_SCHEMA}.credentials`,
  idColumn: 'id',
  keyIdColumn: 'key_id',
  sealedColumns: ['sealed_value'],
  associatedData: (row) =>
    credentialAssociatedData({
      id: textColumn(row, 'id'),
      serverId: textColumn(row, 'server_id'),
      principalId: nullableTextColumn(row, 'principal_id'),
      kind: textColumn(row, 'kind'),
      name: textColumn(row, 'name'),
    }),
};
