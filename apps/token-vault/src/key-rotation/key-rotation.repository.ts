import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { SealedColumnsDescriptor, SealedRow } from './sealed-columns';

/** How a batch waits for rows other transactions hold. */
export type LockMode = 'skip-locked' | 'wait';

/** One batch of rows still wrapped by an older key, locked until the transaction ends. */
export interface RotationTransaction {
  /** Rows of `descriptor` not yet under `activeKid`, oldest id first, minus `skipIds`. */
  lockStale(limit: number, skipIds: string[], lock: LockMode): Promise<SealedRow[]>;
  /** Writes re-wrapped values (and the key id column) of one locked row. */
  update(id: string, values: Record<string, string>): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Raw SQL over the tables a descriptor names: the identifiers are checked and quoted, the values bound. */
@Injectable()
export class KeyRotationRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async inTransaction<T>(descriptor: SealedColumnsDescriptor, activeKid: string, work: (tx: RotationTransaction) => Promise<T>): Promise<T> {
    const sql = new DescriptorSql(descriptor);
    return this.dataSource.transaction((manager) => work(this.transactionFor(manager, sql, activeKid)));
  }

  /** How many non-null sealed values of the table are already wrapped by `activeKid`. */
  async countCurrent(descriptor: SealedColumnsDescriptor, activeKid: string): Promise<number> {
    const sql = new DescriptorSql(descriptor);
    const counts = sql.sealed.map((column) => `count(*) FILTER (WHERE split_part(${column}, '.', 2) = $1)`).join(' + ');
    const [{ current }]: { current: string }[] = await this.dataSource.query(`SELECT (${counts})::bigint AS "current" FROM ${sql.table}`, [activeKid]);
    return Number(current);
  }

  /** How many rows are still not under `activeKid`, minus `skipIds` (no lock taken). */
  async countStale(descriptor: SealedColumnsDescriptor, activeKid: string, skipIds: string[]): Promise<number> {
    const sql = new DescriptorSql(descriptor);
    const [{ stale }]: { stale: string }[] = await this.dataSource.query(
      `SELECT count(*)::bigint AS "stale" FROM ${sql.table} WHERE (${sql.stale('$1')}) AND NOT (${sql.id}::text = ANY($2::text[]))`,
      [activeKid, skipIds],
    );
    return Number(stale);
  }

  private transactionFor(manager: EntityManager, sql: DescriptorSql, activeKid: string): RotationTransaction {
    return {
      lockStale: (limit, skipIds, lock) =>
        manager.query(
          `SELECT * FROM ${sql.table} WHERE (${sql.stale('$1')}) AND NOT (${sql.id}::text = ANY($2::text[]))
           ORDER BY ${sql.id} LIMIT $3 FOR UPDATE${lock === 'skip-locked' ? ' SKIP LOCKED' : ''}`,
          [activeKid, skipIds, limit],
        ),
      update: async (id, values) => {
        const columns = Object.keys(values).map((column) => sql.sealedColumn(column));
        const assignments = columns.map((column, index) => `${column} = $${index + 2}`);
        if (sql.keyId) assignments.push(`${sql.keyId} = $${columns.length + 2}`);
        if (assignments.length === 0) return;
        const parameters = [id, ...Object.values(values), ...(sql.keyId ? [activeKid] : [])];
        await manager.query(`UPDATE ${sql.table} SET ${assignments.join(', ')} WHERE ${sql.id} = $1`, parameters);
      },
    };
  }
}

/** A descriptor's identifiers, validated and quoted once. */
class DescriptorSql {
  readonly table: string;
  readonly id: string;
  readonly keyId: string | null;
  readonly sealed: string[];

  constructor(private readonly descriptor: SealedColumnsDescriptor) {
    this.table = descriptor.table.split('.').map(quote).join('.');
    this.id = quote(descriptor.idColumn);
    this.keyId = descriptor.keyIdColumn ? quote(descriptor.keyIdColumn) : null;
    if (descriptor.sealedColumns.length === 0) throw new TypeError(`${descriptor.table} names no sealed column`);
    this.sealed = descriptor.sealedColumns.map(quote);
  }

  /**
   * Rows to re-wrap: by the key id column where the table has one, else by the
   * kid inside each value. A row with no sealed value at all (its key id is
   * then null) has nothing to re-wrap.
   */
  stale(activeKidParameter: string): string {
    const sealsSomething = this.sealed.map((column) => `${column} IS NOT NULL`).join(' OR ');
    if (this.keyId) return `${this.keyId} IS DISTINCT FROM ${activeKidParameter} AND (${sealsSomething})`;
    return this.sealed.map((column) => `split_part(${column}, '.', 2) <> ${activeKidParameter}`).join(' OR ');
  }

  sealedColumn(column: string): string {
    if (!this.descriptor.sealedColumns.includes(column)) throw new TypeError(`${column} is not a sealed column of ${this.descriptor.table}`);
    return quote(column);
  }
}

function quote(identifier: string): string {
  if (!IDENTIFIER.test(identifier)) throw new TypeError(`invalid SQL identifier ${identifier}`);
  return `"${identifier}"`;
}
