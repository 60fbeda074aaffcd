import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A set of servers sharing collaborators (DESIGN §9). A server belongs to at most one group. */
@Entity({ name: 'groups' })
export class GroupEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Bumped on every change; the ETag of the group. */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
