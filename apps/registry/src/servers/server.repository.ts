import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { SlugTakenError } from '../errors';
import { containsPattern } from '../http/list-query';
import { ServerEntity } from './server.entity';

export type NewServer = Omit<ServerEntity, 'id'>;
export type ServerChanges = Partial<Omit<ServerEntity, 'id' | 'slug' | 'createdAt'>>;

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class ServerRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts a server; a taken slug (even by a concurrent insert) is a {@link SlugTakenError}. */
  async insert(server: NewServer, manager: EntityManager): Promise<ServerEntity> {
    try {
      const result = await manager.createQueryBuilder().insert().into(ServerEntity).values(server).returning(['id']).execute();
      return { ...server, id: (result.raw as { id: string }[])[0].id };
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new SlugTakenError(server.slug, { cause: error });
      }
      throw error;
    }
  }

  findBySlug(slug: string): Promise<ServerEntity | null> {
    return this.dataSource.getRepository(ServerEntity).findOneBy({ slug });
  }

  /** Locks the row until the transaction ends, so concurrent changes to one server apply one after the other. */
  findBySlugForUpdate(slug: string, manager: EntityManager): Promise<ServerEntity | null> {
    return manager.getRepository(ServerEntity).findOne({ where: { slug }, lock: { mode: 'pessimistic_write' } });
  }

  /**
   * A page of servers; with `visibleTo` (one subject list per party: the
   * principal, and its actor if any), only servers on which every party holds
   * a role, directly or through the server's group.
   */
  list(limit: number, offset: number, name?: string, visibleTo: string[][] | null = null): Promise<[ServerEntity[], number]> {
    const builder = this.dataSource.getRepository(ServerEntity).createQueryBuilder('s').orderBy('s.slug', 'ASC').take(limit).skip(offset);
    if (name) builder.andWhere('(s.slug ILIKE :name OR s.name ILIKE :name)', { name: containsPattern(name) });
    (visibleTo ?? []).forEach((subjects, i) => {
      builder.andWhere(
        `EXISTS (SELECT 1 FROM "registry"."collaborators" c${i} WHERE (c${i}.server_id = s.id OR (s.group_id IS NOT NULL AND c${i}.group_id = s.group_id)) AND c${i}.subject = ANY(:subjects${i}))`,
        { [`subjects${i}`]: subjects },
      );
    });
    return builder.getManyAndCount();
  }

  async update(id: string, changes: ServerChanges, manager: EntityManager): Promise<ServerEntity> {
    await manager.getRepository(ServerEntity).update({ id }, changes);
    return manager.getRepository(ServerEntity).findOneByOrFail({ id });
  }

  async delete(id: string, manager: EntityManager): Promise<void> {
    await manager.getRepository(ServerEntity).delete({ id });
  }
}
