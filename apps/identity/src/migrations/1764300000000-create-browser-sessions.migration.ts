import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Browser sessions (login page): only the SHA-256 of the `pcs_…` token is kept. */
export class CreateBrowserSessions1764300000000 implements MigrationInterface {
  readonly name = 'CreateBrowserSessions1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "identity"."browser_sessions" (
        "id"          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id"     uuid        NOT NULL REFERENCES "identity"."users" ("id") ON DELETE CASCADE,
        "token_hash"  char(64)    NOT NULL UNIQUE,
        "created_at"  timestamptz NOT NULL,
        "expires_at"  timestamptz NOT NULL,
        "revoked_at"  timestamptz NULL
      )`);
    await queryRunner.query(`CREATE INDEX "browser_sessions_user_id_idx" ON "identity"."browser_sessions" ("user_id")`);
    // Deactivating a user revokes their sessions in the same statement, whichever code path deactivates them.
    await queryRunner.query(`
      CREATE FUNCTION "identity"."revoke_browser_sessions_of_inactive_user"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "identity"."browser_sessions" SET "revoked_at" = now() WHERE "user_id" = NEW."id" AND "revoked_at" IS NULL;
        RETURN NEW;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "users_deactivation_revokes_browser_sessions"
        AFTER UPDATE OF "active" ON "identity"."users"
        FOR EACH ROW WHEN (OLD."active" AND NOT NEW."active")
        EXECUTE FUNCTION "identity"."revoke_browser_sessions_of_inactive_user"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "users_deactivation_revokes_browser_sessions" ON "identity"."users"`);
    await queryRunner.query(`DROP FUNCTION "identity"."revoke_browser_sessions_of_inactive_user"()`);
    await queryRunner.query(`DROP TABLE "identity"."browser_sessions"`);
  }
}
