import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tool policies on virtual servers too: a policy belongs to exactly one server or virtual server. */
export class VirtualServerPolicies1764100000000 implements MigrationInterface {
  readonly name = 'VirtualServerPolicies1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "registry"."tool_policies"
        ALTER COLUMN "server_id" DROP NOT NULL,
        ADD COLUMN "virtual_server_id" uuid REFERENCES "registry"."virtual_servers" ("id") ON DELETE CASCADE,
        ADD CONSTRAINT "tool_policies_one_target" CHECK (num_nonnulls("server_id", "virtual_server_id") = 1)`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "tool_policies_virtual_server_subject_key" ON "registry"."tool_policies" ("virtual_server_id", "subject") WHERE "virtual_server_id" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "registry"."tool_policies" WHERE "virtual_server_id" IS NOT NULL`);
    await queryRunner.query(`
      ALTER TABLE "registry"."tool_policies"
        DROP CONSTRAINT "tool_policies_one_target",
        DROP COLUMN "virtual_server_id",
        ALTER COLUMN "server_id" SET NOT NULL`);
  }
}
