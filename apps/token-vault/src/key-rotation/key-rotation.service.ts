import { Inject, Injectable } from '@nestjs/common';
import { RequestOf, RequestSubjects, ResponseOf } from '@portcullis/contracts';
import { DecryptionError, EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { KeyRotationIncompleteError } from '../errors';
import { KeyRotationRepository, LockMode, RotationTransaction } from './key-rotation.repository';
import { SealedColumnsDescriptor, SealedRow } from './sealed-columns';

type RotateVaultKeys = RequestOf<typeof RequestSubjects.vaultAdminKeysRotate>;
export type RotationResult = ResponseOf<typeof RequestSubjects.vaultAdminKeysRotate>;

/** The sealed-column descriptors rotation walks (see vault-sealed-columns.ts). */
export const SEALED_COLUMNS = Symbol('SEALED_COLUMNS');

interface Unreadable {
  table: string;
  id: string;
  column: string;
  code: string;
}

/**
 * Re-wraps every sealed value whose data key is wrapped by a key other than
 * the keyring's active one (the ciphertexts stay as they are). Work goes in
 * batches, each its own transaction over rows locked `FOR UPDATE SKIP
 * LOCKED`, so replicas can run it together, a crash loses at most one batch,
 * and a rerun continues where the last one stopped: rows done stay done.
 */
@Injectable()
export class KeyRotationService {
  constructor(
    private readonly repository: KeyRotationRepository,
    private readonly cipher: EnvelopeCipher,
    private readonly keyring: Keyring,
    @Inject(SEALED_COLUMNS) private readonly descriptors: readonly SealedColumnsDescriptor[],
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * `alreadyCurrent` counts values already under the active key when the run
   * reached their table. Throws KeyRotationIncompleteError (after doing the
   * rest) when some value does not open: the old key must stay until then.
   */
  async rotate({ batchSize }: RotateVaultKeys): Promise<RotationResult> {
    const activeKeyId = this.keyring.activeKid;
    const unreadable: Unreadable[] = [];
    let rewrapped = 0;
    let alreadyCurrent = 0;
    for (const descriptor of this.descriptors) {
      alreadyCurrent += await this.repository.countCurrent(descriptor, activeKeyId);
      rewrapped += await this.rotateTable(descriptor, batchSize, unreadable);
    }
    const result = { rewrapped, alreadyCurrent, activeKeyId };
    // Audit-relevant: who holds which key ids is not secret; key material never leaves the keyring.
    this.log.info(
      { audit: 'vault.keys.rotated', ...result, keyIds: this.keyring.kids, tables: this.descriptors.map((d) => d.table), unreadable: unreadable.length },
      'vault keys rotated',
    );
    if (unreadable.length > 0) {
      const listed = unreadable.slice(0, 10).map((u) => `${u.table}#${u.id}`).join(', ');
      throw new KeyRotationIncompleteError(
        `key rotation re-wrapped ${rewrapped} values under ${activeKeyId}, but ${unreadable.length} do not open (${listed}${unreadable.length > 10 ? ', …' : ''}); keep the old keys until they are fixed or deleted`,
      );
    }
    return result;
  }

  private async rotateTable(descriptor: SealedColumnsDescriptor, batchSize: number, unreadable: Unreadable[]): Promise<number> {
    const activeKid = this.keyring.activeKid;
    const skipIds: string[] = [];
    let rewrapped = 0;
    const run = async (limit: number, lock: LockMode): Promise<number> =>
      this.repository.inTransaction(descriptor, activeKid, async (tx) => {
        const rows = await tx.lockStale(limit, skipIds, lock);
        for (const row of rows) rewrapped += await this.rewrapRow(descriptor, tx, row, skipIds, unreadable);
        return rows.length;
      });
    // Rows other transactions hold are skipped first, then waited for one at a time (holding one row, so no deadlock).
    while ((await run(batchSize, 'skip-locked')) > 0);
    while ((await run(1, 'wait')) > 0 || (await this.repository.countStale(descriptor, activeKid, skipIds)) > 0);
    return rewrapped;
  }

  /** Re-wraps one locked row's values; an unreadable row is left as it is, remembered and skipped from then on. */
  private async rewrapRow(descriptor: SealedColumnsDescriptor, tx: RotationTransaction, row: SealedRow, skipIds: string[], unreadable: Unreadable[]): Promise<number> {
    const id = String(row[descriptor.idColumn]);
    const values: Record<string, string> = {};
    let rewrapped = 0;
    for (const column of descriptor.sealedColumns) {
      const sealed = row[column];
      if (sealed === null || sealed === undefined) continue;
      try {
        if (typeof sealed !== 'string') throw new DecryptionError('sealed column is not text');
        if (!this.cipher.needsRewrap(sealed)) continue;
        values[column] = this.cipher.rewrap(sealed, descriptor.associatedData(row, column));
        rewrapped += 1;
      } catch (error) {
        if (!(error instanceof DecryptionError)) throw error;
        unreadable.push({ table: descriptor.table, id, column, code: error.code });
        skipIds.push(id);
        this.log.error({ table: descriptor.table, id, column, code: error.code }, 'sealed value does not open; left under its old key');
        return 0;
      }
    }
    await tx.update(id, values);
    return rewrapped;
  }
}
