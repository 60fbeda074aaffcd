import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys identity signs its own JWTs with (token exchange, RFC 8693): ES256
 * pairs; the private JWK is stored encrypted with the identity keyring
 * (`EnvelopeCipher`, associated data `signing-key:<kid>`).
 */
export class CreateSigningKeys1764100000000 implements MigrationInterface {
  readonly name = 'CreateSigningKeys1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "identity"."signing_keys" (
        "kid"                 text        PRIMARY KEY,
        "algorithm"           text        NOT NULL CHECK ("algorithm" = 'ES256'),
        "public_jwk"          jsonb       NOT NULL,
        "private_jwk_sealed"  text        NOT NULL,
        "created_at"          timestamptz NOT NULL,
        "retired_at"          timestamptz NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "identity"."signing_keys"`);
  }
}
