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

  /** OAuth scopes a scope-limited caller's token must grant; empty: none. */
  @Column({ name: 'required_scopes', type: 'text', array: true, default: () => "'{}'" })
  requiredScopes!: string[];

  /** Bumped on every change; the ETag of the virtual server. */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
