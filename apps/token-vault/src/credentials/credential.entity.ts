import { Column, Entity, PrimaryColumn } from 'typeorm';

export const VAULT_SCHEMA = 'vault';

/**
 * What a stored credential is. `header`: a `global` header value (shared, no
 * principal). `header_template`: a `per_user` header template such as
 * `Bearer {{API_KEY}}` (shared). `header_value`: one principal's value for one
 * template variable (`name` is the variable). OAuth secrets live in their own tables.
 */
export const StoredCredentialKinds = ['header', 'header_template', 'header_value'] as const;
export type StoredCredentialKind = (typeof StoredCredentialKinds)[number];

/**
 * One encrypted secret. `sealedValue` is EnvelopeCipher output whose
 * associated data is this row's identity (see credential-binding.ts), so it
 * opens only here. Unique per (server, principal, kind, lower(name)); a null
 * principal means the value is shared by every principal.
 */
@Entity({ schema: VAULT_SCHEMA, name: 'credentials' })
export class CredentialEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'server_id', type: 'uuid' })
  serverId!: string;

  @Column({ name: 'principal_id', type: 'text', nullable: true })
  principalId!: string | null;

  @Column({ type: 'text' })
  kind!: StoredCredentialKind;

  /** For `header` and `header_template`: the HTTP header name, as the admin spelt it; for `header_value`: the variable. */
  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'sealed_value', type: 'text' })
  sealedValue!: string;

  /** Key id that wraps the data key, so rotation can find what still needs re-wrapping. */
  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
