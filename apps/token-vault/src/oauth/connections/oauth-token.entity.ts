import type { OAuthGrantType, Principal } from '@portcullis/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { VAULT_SCHEMA } from '../../credentials/credential.entity';

export const OAuthTokenStatuses = ['active', 'needs_consent'] as const;
export type OAuthTokenStatus = (typeof OAuthTokenStatuses)[number];

/**
 * The upstream tokens of one (principal, server): a connection. A null
 * principal is the server's own `client_credentials` token. Tokens are sealed
 * with OAuthBindings.token (row id, server, principal, which token).
 * A row without an access token is a placeholder that exists to be locked
 * while the first token is fetched.
 */
@Entity({ schema: VAULT_SCHEMA, name: 'oauth_tokens' })
export class OAuthTokenEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'server_id', type: 'uuid' })
  serverId!: string;

  @Column({ name: 'principal_id', type: 'text', nullable: true })
  principalId!: string | null;

  @Column({ name: 'principal_kind', type: 'text', nullable: true })
  principalKind!: Principal['kind'] | null;

  @Column({ name: 'grant_type', type: 'text' })
  grantType!: OAuthGrantType;

  @Column({ type: 'text' })
  status!: OAuthTokenStatus;

  @Column({ name: 'sealed_access_token', type: 'text', nullable: true })
  sealedAccessToken!: string | null;

  @Column({ name: 'sealed_refresh_token', type: 'text', nullable: true })
  sealedRefreshToken!: string | null;

  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId!: string | null;

  @Column({ type: 'text', array: true })
  scopes!: string[];

  @Column({ name: 'issued_at', type: 'timestamptz', nullable: true })
  issuedAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  /** Consecutive transient refresh failures, for the backoff. */
  @Column({ name: 'refresh_failures', type: 'integer' })
  refreshFailures!: number;

  /** No refresh is tried before this (backoff after a transient failure). */
  @Column({ name: 'retry_after', type: 'timestamptz', nullable: true })
  retryAfter!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
