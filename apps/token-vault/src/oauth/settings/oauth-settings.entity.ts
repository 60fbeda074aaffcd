import type { OAuthGrantType } from '@portcullis/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { VAULT_SCHEMA } from '../../credentials/credential.entity';

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/**
 * One server's upstream OAuth settings. The client secret is sealed with
 * associated data naming the server (OAuthBindings.clientSecret).
 */
@Entity({ schema: VAULT_SCHEMA, name: 'oauth_settings' })
export class OAuthSettingsEntity {
  @PrimaryColumn({ name: 'server_id', type: 'uuid' })
  serverId!: string;

  @Column({ name: 'server_slug', type: 'text' })
  serverSlug!: string;

  /** The upstream MCP server URL: the RFC 8707 `resource` of every request. */
  @Column({ type: 'text' })
  resource!: string;

  @Column({ name: 'grant_type', type: 'text' })
  grantType!: OAuthGrantType;

  @Column({ name: 'client_id', type: 'text', nullable: true })
  clientId!: string | null;

  @Column({ name: 'sealed_client_secret', type: 'text', nullable: true })
  sealedClientSecret!: string | null;

  /** Key wrapping the client secret's data key; null when there is no secret. */
  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId!: string | null;

  @Column({ name: 'authorization_url', type: 'text', nullable: true })
  authorizationUrl!: string | null;

  @Column({ name: 'token_url', type: 'text', nullable: true })
  tokenUrl!: string | null;

  @Column({ name: 'revocation_url', type: 'text', nullable: true })
  revocationUrl!: string | null;

  @Column({ type: 'text', nullable: true })
  issuer!: string | null;

  @Column({ type: 'text', array: true })
  scopes!: string[];

  @Column({ name: 'token_endpoint_auth_method', type: 'text' })
  tokenEndpointAuthMethod!: TokenEndpointAuthMethod;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
