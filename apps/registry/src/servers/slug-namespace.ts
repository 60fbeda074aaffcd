import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { SlugTakenError } from '../errors';

/**
 * Servers and virtual servers share one slug namespace (both live at
 * `/mcp/{slug}`). Claiming takes a transaction-scoped advisory lock on the
 * slug, so two concurrent creations of the same slug in the two tables
 * cannot both succeed.
 */
@Injectable()
export class SlugNamespace {
  /** @throws SlugTakenError when a server or a virtual server already has the slug. */
  async claim(slug: string, manager: EntityManager): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('registry.slug:' || $1))`, [slug]);
    const taken = (await manager.query(
      `SELECT 1 FROM "registry"."servers" WHERE slug = $1 UNION ALL SELECT 1 FROM "registry"."virtual_servers" WHERE slug = $1 LIMIT 1`,
      [slug],
    )) as unknown[];
    if (taken.length > 0) throw new SlugTakenError(slug);
  }
}
