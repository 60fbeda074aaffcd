import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A slug exposing chosen tools of several servers (DESIGN §9). */
@Entity({ name: 'virtual_servers' })
export class VirtualServerEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  slug!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Bumped on every change; the ETag of the virtual server. */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
