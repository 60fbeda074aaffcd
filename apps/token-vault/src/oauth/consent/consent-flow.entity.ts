import type { Principal } from '@portcullis/contracts';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { VAULT_SCHEMA } from '../../credentials/credential.entity';

/**
 * One consent flow of a principal for a server. The `state` sent to the
 * provider is never stored, only its SHA-256; a new one is drawn each time
 * the browser is sent off (`connect`), and the callback consumes it once.
 */
@Entity({ schema: VAULT_SCHEMA, name: 'oauth_flows' })
export class ConsentFlowEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'server_id', type: 'uuid' })
  serverId!: string;

  @Column({ name: 'server_slug', type: 'text' })
  serverSlug!: string;

  @Column({ name: 'principal_id', type: 'text' })
  principalId!: string;

  @Column({ name: 'principal_kind', type: 'text', nullable: true })
  principalKind!: Principal['kind'] | null;

  @Column({ name: 'state_hash', type: 'text', nullable: true })
  stateHash!: string | null;

  /** PKCE verifier, sealed with OAuthBindings.codeVerifier. */
  @Column({ name: 'sealed_code_verifier', type: 'text' })
  sealedCodeVerifier!: string;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt!: Date | null;
}
