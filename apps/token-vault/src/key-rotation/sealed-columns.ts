/** One row as PostgreSQL returns it: every column, keyed by column name. */
export type SealedRow = Record<string, unknown>;

/**
 * Where a table keeps EnvelopeCipher output, for key rotation. Every feature
 * that seals values describes its tables here; rotation is generic over them.
 */
export interface SealedColumnsDescriptor {
  /** Schema-qualified, e.g. `vault.credentials`. */
  table: string;
  idColumn: string;
  /**
   * A column naming the key that wraps the row's values, set to the active
   * key once every sealed column is re-wrapped. Without it, the key id is
   * read from the sealed values themselves (`v1.<kid>.…`).
   */
  keyIdColumn?: string;
  /** Nullable columns are fine: a null is skipped. */
  sealedColumns: string[];
  /** The associated data the value in `column` was sealed with (the same for every column unless the table says otherwise). */
  associatedData(row: SealedRow, column: string): string;
}

/** Reads a text column of a raw row; a missing or non-text column is a descriptor bug, not data to guess at. */
export function textColumn(row: SealedRow, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new TypeError(`column ${column} is not text`);
  return value;
}

/** Like textColumn, for a column that may be null. */
export function nullableTextColumn(row: SealedRow, column: string): string | null {
  return row[column] === null ? null : textColumn(row, column);
}
