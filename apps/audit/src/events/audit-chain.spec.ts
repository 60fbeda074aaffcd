import type { AuditEvent } from '@portcullis/contracts';
import { auditEvent } from '@portcullis/testing';
import { createHash } from 'node:crypto';
import { AuditChain, ChainLink } from './audit-chain';

function event(n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return auditEvent({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    ts: new Date(Date.UTC(2026, 0, 1, 12, 0, n)).toISOString(),
    traceId: `trace-${n}`,
    principal: { id: 'user-1', kind: 'user', email: 'ada@example.com' },
    latencyMs: 12.5,
    ...overrides,
  });
}

function chainOf(events: AuditEvent[]): ChainLink[] {
  let prevHash = AuditChain.genesisHash;
  return events.map((e, index) => {
    const hash = AuditChain.hash(prevHash, e);
    const link = { seq: index + 1, event: e, prevHash, hash };
    prevHash = hash;
    return link;
  });
}

describe(AuditChain.name, () => {
  describe('canonicalJson', () => {
    it('sorts object keys at every depth and keeps array order', () => {
      expect(AuditChain.canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    });

    it('gives equal events equal bytes whatever order their fields were built in', () => {
      const built = event(1);
      const reversed = Object.fromEntries(Object.entries(built).reverse()) as AuditEvent;
      expect(AuditChain.canonicalJson(reversed)).toBe(AuditChain.canonicalJson(built));
    });

    it('drops undefined members, as an absent optional field', () => {
      expect(AuditChain.canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
    });

    it('escapes strings as JSON does', () => {
      expect(AuditChain.canonicalJson({ reason: 'quote " and \n newline' })).toBe('{"reason":"quote \\" and \\n newline"}');
    });

    it('rejects a number JSON cannot represent', () => {
      expect(() => AuditChain.canonicalJson({ latencyMs: Number.NaN })).toThrow(TypeError);
      expect(() => AuditChain.canonicalJson({ latencyMs: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    });
  });

  describe('hash', () => {
    it('is sha256 hex of the previous hash followed by the canonical event', () => {
      const e = event(1);
      const expected = createHash('sha256').update(AuditChain.genesisHash + AuditChain.canonicalJson(e)).digest('hex');
      expect(AuditChain.hash(AuditChain.genesisHash, e)).toBe(expected);
      expect(AuditChain.genesisHash).toBe('0'.repeat(64));
    });

    it('changes when any field of the event changes', () => {
      const base = AuditChain.hash(AuditChain.genesisHash, event(1));
      expect(AuditChain.hash(AuditChain.genesisHash, event(1, { outcome: 'denied' }))).not.toBe(base);
      expect(AuditChain.hash(AuditChain.genesisHash, event(1, { principal: { id: 'user-1', kind: 'user' } }))).not.toBe(base);
    });

    it('changes when the previous hash changes, so links cannot be reordered', () => {
      expect(AuditChain.hash('1'.repeat(64), event(1))).not.toBe(AuditChain.hash(AuditChain.genesisHash, event(1)));
    });
  });

  describe('verify', () => {
    it('accepts an intact chain and counts its links', () => {
      expect(AuditChain.verify(chainOf([event(1), event(2), event(3)]))).toEqual({ ok: true, checked: 3 });
    });

    it('accepts an empty chain', () => {
      expect(AuditChain.verify([])).toEqual({ ok: true, checked: 0 });
    });

    it('names the first link whose content was altered after it was hashed', () => {
      const links = chainOf([event(1), event(2), event(3), event(4)]);
      links[2] = { ...links[2], event: { ...links[2].event, outcome: 'success', reason: 'rewritten' } };
      expect(AuditChain.verify(links)).toEqual({ ok: false, checked: 3, firstBrokenSeq: 3 });
    });

    it('detects a link whose hash was recomputed after its content was altered', () => {
      const links = chainOf([event(1), event(2), event(3)]);
      const forged = { ...links[1].event, principal: { id: 'someone-else', kind: 'user' as const } };
      links[1] = { ...links[1], event: forged, hash: AuditChain.hash(links[1].prevHash, forged) };
      // The forged link is self-consistent; its successor no longer points at it.
      expect(AuditChain.verify(links)).toEqual({ ok: false, checked: 3, firstBrokenSeq: 3 });
    });

    it('detects a link deleted from the middle of the chain', () => {
      const links = chainOf([event(1), event(2), event(3)]);
      expect(AuditChain.verify([links[0], links[2]])).toEqual({ ok: false, checked: 2, firstBrokenSeq: 3 });
    });

    it('detects a first link that does not start from the genesis hash', () => {
      const links = chainOf([event(1), event(2)]);
      expect(AuditChain.verify(links.slice(1))).toEqual({ ok: false, checked: 1, firstBrokenSeq: 2 });
    });
  });

  describe('check', () => {
    it('stops examining links once the chain is broken', () => {
      const links = chainOf([event(1), event(2), event(3)]);
      const chain = new AuditChain();
      expect(chain.check({ ...links[0], hash: 'f'.repeat(64) })).toBe(false);
      expect(chain.check(links[1])).toBe(false);
      expect(chain.verdict()).toEqual({ ok: false, checked: 1, firstBrokenSeq: 1 });
    });
  });
});
