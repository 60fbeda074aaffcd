import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { UserEntity } from './user.entity';

export interface EnsureUserInput {
  email: string;
  /** Makes the user an admin if they are not one yet; never demotes. */
  isAdmin: boolean;
  createdAt: Date;
}

@Injectable()
export class UserRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Returns the user with this e-mail, creating them if absent. One statement
   * with ON CONFLICT, so concurrent callers (replicas booting together) never
   * fail on the unique e-mail.
   */
  async ensure(input: EnsureUserInput, manager: EntityManager = this.dataSource.manager): Promise<UserEntity> {
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(UserEntity)
      .values({ email: normalizeEmail(input.email), isAdmin: input.isAdmin, active: true, createdAt: input.createdAt })
      .onConflict(`("email") DO UPDATE SET "is_admin" = "users"."is_admin" OR EXCLUDED."is_admin"`)
      .returning('*')
      .execute();
    const row = (result.raw as Record<string, unknown>[])[0];
    return manager.getRepository(UserEntity).create({
      id: row['id'] as string,
      email: row['email'] as string,
      displayName: (row['display_name'] as string | null) ?? null,
      isAdmin: row['is_admin'] as boolean,
      active: row['active'] as boolean,
      createdAt: row['created_at'] as Date,
    });
  }
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
