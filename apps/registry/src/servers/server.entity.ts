import type { AuthType, HeaderMode, OAuthGrantType } from '@portcullis/contracts';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type ServerTransport = 'streamable-http' | 'sse';

/**
 * One upstream MCP server. Holds the names of the headers injected upstream,
 * never their values: those live encrypted in the token vault.
 */
@Entity({ name: 'servers' })
export class ServerEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  slug!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  url!: string;

  @Column({ type: 'text' })
  transport!: ServerTransport;

  @Column({ name: 'auth_type', type: 'text' })
  authType!: AuthType;

  @Column({ name: 'header_names', type: 'text', array: true })
  headerNames!: string[];

  /** Set when `authType` is `header`: one value for all, or each user's own through a template. */
  @Column({ name: 'header_mode', type: 'text', nullable: true })
  headerMode!: HeaderMode | null;

  /** Set when `authType` is `oauth2`; the rest of the OAuth settings live in the token vault. */
  @Column({ name: 'oauth_grant_type', type: 'text', nullable: true })
  oauthGrantType!: OAuthGrantType | null;

  @Column({ name: 'timeout_ms', type: 'integer' })
  timeoutMs!: number;

  /** OAuth scopes a scope-limited caller's token must grant; empty: none. */
  @Column({ name: 'required_scopes', type: 'text', array: true, default: () => "'{}'" })
  requiredScopes!: string[];

  @Column({ name: 'group_id', type: 'uuid', nullable: true })
  groupId!: string | null;

  /** Bumped on every change; the ETag of the server. */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
