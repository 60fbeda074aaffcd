import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Allow/deny tool globs for one subject on one server or virtual server (by the names it exposes); deny wins. `allow` null: no allow-list. */
@Entity({ name: 'tool_policies' })
export class ToolPolicyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'server_id', type: 'uuid', nullable: true })
  serverId!: string | null;

  @Column({ name: 'virtual_server_id', type: 'uuid', nullable: true })
  virtualServerId!: string | null;

  @Column({ type: 'text' })
  subject!: string;

  @Column({ type: 'text', array: true, nullable: true })
  allow!: string[] | null;

  @Column({ type: 'text', array: true })
  deny!: string[];

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
