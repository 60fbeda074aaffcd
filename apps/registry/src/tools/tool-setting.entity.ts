import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Per-tool settings of a server: disabled tools are invisible to everyone; a description replaces the upstream's. */
@Entity({ name: 'tool_settings' })
export class ToolSettingEntity {
  @PrimaryColumn({ name: 'server_id', type: 'uuid' })
  serverId!: string;

  @PrimaryColumn({ type: 'text' })
  tool!: string;

  @Column({ type: 'boolean' })
  disabled!: boolean;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
