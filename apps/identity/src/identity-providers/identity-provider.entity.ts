import type { IdentityProviderSettings } from '@portcullis/contracts';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** An external identity provider. `issuer` is a column of its own (tokens are matched by it); the rest is validated settings. */
@Entity({ name: 'identity_providers' })
export class IdentityProviderEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  issuer!: string;

  @Column({ type: 'jsonb' })
  settings!: IdentityProviderSettings;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
