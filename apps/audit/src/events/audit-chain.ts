import { createHash } from 'node:crypto';
import type { AuditEvent } from '@portcullis/contracts';

/** One stored link of the chain: the event plus what was recorded about it. */
export interface ChainLink {
  seq: number;
  event: AuditEvent;
  prevHash: string;
  hash: string;
}

export type ChainVerdict = { ok: true; checked: number } | { ok: false; checked: number; firstBrokenSeq: number };

/**
 * The tamper-evident chain of audit events (DESIGN §11):
 * `hash = sha256_hex(prevHash ‖ canonicalJson(event))`, the first link's
 * prevHash being 64 zeros. Pure: no database, no clock.
 *
 * Feed links in `seq` order to {@link check}; the first link whose prevHash
 * is not its predecessor's hash, or whose hash does not match its content,
 * breaks the chain. Deleting the newest rows is not detectable from the
 * rows alone; that needs an anchor kept elsewhere.
 */
export class AuditChain {
  static readonly genesisHash = '0'.repeat(64);

  private lastHash: string;
  private checked = 0;
  private firstBrokenSeq: number | null = null;

  /** `anchorHash`: the hash the first link must follow, when older links were removed by retention. */
  constructor(anchorHash: string = AuditChain.genesisHash) {
    this.lastHash = anchorHash;
  }

  /**
   * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 does) at
   * every depth and `undefined` members dropped, so equal events always
   * serialize to equal bytes whatever order their fields were built in.
   */
  static canonicalJson(value: unknown): string {
    if (value === null) return 'null';
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return JSON.stringify(value);
      case 'number':
        if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for a non-finite number');
        return JSON.stringify(value);
      case 'object':
        break;
      default:
        throw new TypeError(`canonical JSON has no representation for a ${typeof value}`);
    }
    if (Array.isArray(value)) {
      return `[${value.map((item) => (item === undefined ? 'null' : AuditChain.canonicalJson(item))).join(',')}]`;
    }
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${AuditChain.canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }

  /** The hash a link carrying `event` after a link hashed `prevHash` must have. */
  static hash(prevHash: string, event: AuditEvent): string {
    return createHash('sha256').update(prevHash, 'utf8').update(AuditChain.canonicalJson(event), 'utf8').digest('hex');
  }

  /** Verifies a whole chain held in memory, from its first link. */
  static verify(links: Iterable<ChainLink>): ChainVerdict {
    const chain = new AuditChain();
    for (const link of links) if (!chain.check(link)) break;
    return chain.verdict();
  }

  /** Checks the next link; returns false once the chain is broken (later links are not examined). */
  check(link: ChainLink): boolean {
    if (this.firstBrokenSeq !== null) return false;
    this.checked += 1;
    const intact = link.prevHash === this.lastHash && link.hash === AuditChain.hash(link.prevHash, link.event);
    if (!intact) {
      this.firstBrokenSeq = link.seq;
      return false;
    }
    this.lastHash = link.hash;
    return true;
  }

  verdict(): ChainVerdict {
    return this.firstBrokenSeq === null
      ? { ok: true, checked: this.checked }
      : { ok: false, checked: this.checked, firstBrokenSeq: this.firstBrokenSeq };
  }
}
