import { VAULT_SCHEMA } from '../credentials/credential.entity';
import { nullableTextColumn, textColumn, type SealedColumnsDescriptor } from '../key-rotation/sealed-columns';
import { OAuthBindings } from './oauth-binding';

/**
 * Where upstream OAuth keeps sealed values, for key rotation: client secrets,
 * PKCE verifiers of consent flows, access and refresh tokens. Each table's
 * `key_id` names the key wrapping its row's values.
 */
export const oauthSealedColumns: readonly SealedColumnsDescriptor[] = [
  {
    table: `${VAULT_SCHEMA}.oauth_settings`,
    idColumn: 'server_id',
    keyIdColumn: 'key_id',
    sealedColumns: ['sealed_client_secret'],
    associatedData: (row) => OAuthBindings.clientSecret(textColumn(row, 'server_id')),
  },
  {
    table: `${VAULT_SCHEMA}.oauth_flows`,
    idColumn: 'id',
    keyIdColumn: 'key_id',
    sealedColumns: ['sealed_code_verifier'],
    associatedData: (row) => OAuthBindings.codeVerifier({ id: textColumn(row, 'id'), serverId: textColumn(row, 'server_id'), principalId: textColumn(row, 'principal_id') }),
  },
  {
    table: `${VAULT_SCHEMA}.oauth_tokens`,
    idColumn: 'id',
    keyIdColumn: 'key_id',
    sealedColumns: ['sealed_access_token', 'sealed_refresh_token'],
    associatedData: (row, column) =>
      OAuthBindings.token(
        { id: textColumn(row, 'id'), serverId: textColumn(row, 'server_id'), principalId: nullableTextColumn(row, 'principal_id') },
        column === 'sealed_refresh_token' ? 'refresh_token' : 'access_token',
      ),
  },
];
