import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { CollaboratorRole } from '../authorization/policy-evaluator';

/** A subject's role on one server or one group (exactly one of the two ids is set). */
@Entity({ name: 'collaborators' })
export class CollaboratorEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'server_id', type: 'uuid', nullable: true })
  serverId!: string | null;

  @Column({ name: 'group_id', type: 'uuid', nullable: true })
  groupId!: string | null;

  @Column({ type: 'text' })
  subject!: string;

  @Column({ type: 'text' })
  role!: CollaboratorRole;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
