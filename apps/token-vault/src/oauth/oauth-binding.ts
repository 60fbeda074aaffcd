import { credentialAssociatedData } from '../credentials/credential-binding';

/**
 * Associated data of every sealed OAuth value, built with the vault's one
 * row-binding format: a value copied into another row (another id, server,
 * principal or column) no longer decrypts.
 */
export const OAuthBindings = {
  clientSecret: (serverId: string) => credentialAssociatedData({ id: serverId, serverId, principalId: null, kind: 'oauth_client', name: 'client_secret' }),
  codeVerifier: (flow: { id: string; serverId: string; principalId: string }) =>
    credentialAssociatedData({ id: flow.id, serverId: flow.serverId, principalId: flow.principalId, kind: 'oauth_flow', name: 'code_verifier' }),
  token: (row: { id: string; serverId: string; principalId: string | null }, which: 'access_token' | 'refresh_token') =>
    credentialAssociatedData({ id: row.id, serverId: row.serverId, principalId: row.principalId, kind: 'oauth_token', name: which }),
} as const;
