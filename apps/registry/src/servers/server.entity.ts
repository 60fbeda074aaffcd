import type { AuthType } from '@portcullis/contracts';
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

  @Column({ name: 'timeout_ms', type: 'integer' })
  timeoutMs!: number;

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
