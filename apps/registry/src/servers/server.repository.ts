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

  list(limit: number, offset: number, name?: string): Promise<[ServerEntity[], number]> {
    const builder = this.dataSource.getRepository(ServerEntity).createQueryBuilder('s').orderBy('s.slug', 'ASC').take(limit).skip(offset);
    if (name) builder.where('(s.slug ILIKE :name OR s.name ILIKE :name)', { name: containsPattern(name) });
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
