import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { CollaboratorRole } from '../authorization/policy-evaluator';

/** A subject's role on one server, group or virtual server (exactly one of the three ids is set). */
@Entity({ name: 'collaborators' })
export class CollaboratorEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'server_id', type: 'uuid', nullable: true })
  serverId!: string | null;

  @Column({ name: 'group_id', type: 'uuid', nullable: true })
  groupId!: string | null;

  @Column({ name: 'virtual_server_id', type: 'uuid', nullable: true })
  virtualServerId!: string | null;

  @Column({ type: 'text' })
  subject!: string;

  @Column({ type: 'text' })
  role!: CollaboratorRole;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
