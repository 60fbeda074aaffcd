import { Injectable } from '@nestjs/common';
import type { IdentityProviderSettings } from '@portcullis/contracts';
import { DataSource } from 'typeorm';
import { IdentityProviderEntity } from './identity-provider.entity';

@Injectable()
export class IdentityProviderRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get repository() {
    return this.dataSource.getRepository(IdentityProviderEntity);
  }

  /** Inserts unless the name is taken; returns null when it is. */
  async insert(name: string, settings: IdentityProviderSettings, at: Date): Promise<IdentityProviderEntity | null> {
    const result = await this.repository
      .createQueryBuilder()
      .insert()
      .values({ name, issuer: settings.issuer, settings, createdAt: at, updatedAt: at })
      .orIgnore()
      .returning(['id'])
      .execute();
    const row = (result.raw as { id: string }[])[0];
    return row ? this.repository.findOneBy({ id: row.id }) : null;
  }

  list(): Promise<IdentityProviderEntity[]> {
    return this.repository.find({ order: { name: 'ASC' } });
  }

  findByName(name: string): Promise<IdentityProviderEntity | null> {
    return this.repository.findOneBy({ name });
  }

  findByIssuer(issuer: string): Promise<IdentityProviderEntity[]> {
    return this.repository.find({ where: { issuer }, order: { name: 'ASC' } });
  }

  async update(id: string, settings: IdentityProviderSettings, at: Date): Promise<void> {
    await this.repository.update({ id }, { issuer: settings.issuer, settings, updatedAt: at });
  }

  async delete(id: string): Promise<void> {
    await this.repository.delete({ id });
  }
}
