import { randomUUID } from 'node:crypto';
import type { Principal } from '@portcullis/contracts';
import { Keyring, SealedBox } from '@portcullis/crypto';
import { createLogger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import type { EdgeProxyModuleOptions } from '../edge-proxy.options';
import { UnknownSessionError } from '../errors';
import type { McpSession, SessionTarget } from './mcp-session';
import { SealedSessions } from './sealed-sessions.service';

class FrozenClock extends Clock {
  constructor(private readonly at: Date) {
    super();
  }

  override nowMs(): number {
    return this.at.getTime();
  }
}

const clock = new FrozenClock(new Date('2026-12-01T10:00:00Z'));
const logger = createLogger({ service: 'edge-proxy', level: 'silent' });

function sessionsWith(keys: Keyring | undefined): SealedSessions {
  return new SealedSessions({ sessionKeys: keys } as EdgeProxyModuleOptions, clock, logger);
}

function expectUnknownSession(open: () => unknown): void {
  try {
    open();
  } catch (error) {
    expect(error).toBeInstanceOf(UnknownSessionError);
    expect(error).toMatchObject({ code: 'unknown_session', httpStatus: 404, jsonRpcCode: -32001, message: 'Session not found' });
    return;
  }
  throw new Error('expected an UnknownSessionError');
}

describe(SealedSessions.name, () => {
  const alice = { id: randomUUID() } as Principal;
  const bob = { id: randomUUID() } as Principal;
  const echo: SessionTarget = { kind: 'server', id: randomUUID(), slug: 'echo' };
  const old = Keyring.generate('s1');
  const rotated = old.rotate('s2');
  const sessions = sessionsWith(old);
  const content = (who: Principal, target: SessionTarget): Omit<McpSession, 'issuedAt'> => ({
    principalId: who.id,
    target,
    upstreamSessions: { [target.id]: 'upstream-session-1' },
    protocolVersion: '2025-06-18',
    urlElicitation: true,
  });

  describe('seal', () => {
    it('seals the session into an opaque URL-safe id with the time it was issued', () => {
      const sealed = sessions.seal(content(alice, echo));
      expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(sealed).not.toContain('upstream-session-1');
      expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain(alice.id);
      expect(sessions.open(sealed, alice, echo)).toEqual({ ...content(alice, echo), issuedAt: Date.parse('2026-12-01T10:00:00Z') / 1000 });
    });
  });

  describe('open', () => {
    it('answers null when the request names no session', () => {
      expect(sessions.open(undefined, alice, echo)).toBeNull();
    });

    it("refuses another principal's session id (a stolen id replayed with the thief's own token)", () => {
      const sealed = sessions.seal(content(alice, echo));
      expectUnknownSession(() => sessions.open(sealed, bob, echo));
      // Cached once opened by its owner, the id is still checked against each caller.
      expect(sessions.open(sealed, alice, echo)).not.toBeNull();
      expectUnknownSession(() => sessions.open(sealed, bob, echo));
    });

    it('refuses a session id of another server, slug or kind of target (a session moved to another target)', () => {
      const sealed = sessions.seal(content(alice, echo));
      expectUnknownSession(() => sessions.open(sealed, alice, { ...echo, id: randomUUID() }));
      expectUnknownSession(() => sessions.open(sealed, alice, { ...echo, slug: 'other' }));
      expectUnknownSession(() => sessions.open(sealed, alice, { ...echo, kind: 'virtual' }));
    });

    it('refuses a session id with any single byte changed (tampering)', () => {
      const bytes = Buffer.from(sessions.seal(content(alice, echo)), 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        const copy = Buffer.from(bytes);
        copy[i] = copy[i]! ^ 0x01;
        expectUnknownSession(() => sessions.open(copy.toString('base64url'), alice, echo));
      }
    });

    it('refuses garbage, an empty id, an oversized id and a repeated header', () => {
      for (const garbage of ['not-a-session', '', 'a'.repeat(5000), '../../etc/passwd', 'AAAA']) expectUnknownSession(() => sessions.open(garbage, alice, echo));
      const sealed = sessions.seal(content(alice, echo));
      expectUnknownSession(() => sessions.open([sealed, sealed], alice, echo));
    });

    it('refuses a value sealed under the same keys for another purpose (a cross-purpose token)', () => {
      const forged = new SealedBox(old).seal({ ...content(alice, echo), issuedAt: 0 }, 'oauth-state');
      expectUnknownSession(() => sessions.open(forged, alice, echo));
    });

    it('refuses an id sealed under a key this edge does not hold (another deployment, or a forger)', () => {
      const elsewhere = sessionsWith(Keyring.generate('s1')).seal(content(alice, echo));
      expectUnknownSession(() => sessions.open(elsewhere, alice, echo));
    });

    it('refuses intact content that is not a session', () => {
      const notASession = new SealedBox(old).seal({ principalId: alice.id }, 'mcp-session/v1');
      expectUnknownSession(() => sessions.open(notASession, alice, echo));
    });
  });

  describe('maximum age', () => {
    class MovableClock extends Clock {
      at = Date.parse('2026-12-01T10:00:00Z');
      override nowMs(): number {
        return this.at;
      }
    }

    it('opens a session up to its maximum age and refuses it after, even once cached (a leaked id does not live for ever)', () => {
      const movable = new MovableClock();
      const aging = new SealedSessions({ sessionKeys: old, sessionMaxAgeSeconds: 3600 } as EdgeProxyModuleOptions, movable, logger);
      const sealed = aging.seal(content(alice, echo));
      expect(aging.open(sealed, alice, echo)).not.toBeNull();
      movable.at += 3600 * 1000;
      expect(aging.open(sealed, alice, echo)).not.toBeNull();
      movable.at += 1000;
      expectUnknownSession(() => aging.open(sealed, alice, echo));
      // A new session, sealed now, opens again.
      expect(aging.open(aging.seal(content(alice, echo)), alice, echo)).not.toBeNull();
    });

    it('defaults to a day, and refuses a maximum age that is not a positive whole number of seconds', () => {
      const movable = new MovableClock();
      const aging = new SealedSessions({ sessionKeys: old } as EdgeProxyModuleOptions, movable, logger);
      const sealed = aging.seal(content(alice, echo));
      movable.at += 24 * 3600 * 1000;
      expect(aging.open(sealed, alice, echo)).not.toBeNull();
      movable.at += 1000;
      expectUnknownSession(() => aging.open(sealed, alice, echo));
      for (const sessionMaxAgeSeconds of [0, -1, 1.5, Number.NaN]) {
        expect(() => new SealedSessions({ sessionMaxAgeSeconds } as EdgeProxyModuleOptions, movable, logger)).toThrow(TypeError);
      }
    });
  });

  describe('key rotation', () => {
    it('opens ids sealed under the old key while it is still in the ring, and seals new ones under the new key', () => {
      const sealedBefore = sessions.seal(content(alice, echo));
      const afterRotation = sessionsWith(rotated);
      expect(afterRotation.open(sealedBefore, alice, echo)).toMatchObject({ principalId: alice.id });
      const sealedAfter = afterRotation.seal(content(alice, echo));
      expectUnknownSession(() => sessions.open(sealedAfter, alice, echo));
    });

    it('refuses ids sealed under a key removed from the ring', () => {
      const sealedBefore = sessions.seal(content(alice, echo));
      expectUnknownSession(() => sessionsWith(rotated.retire('s1')).open(sealedBefore, alice, echo));
    });
  });

  it('without configured keys, seals under a key of its own that no other instance holds', () => {
    const [one, two] = [sessionsWith(undefined), sessionsWith(undefined)];
    const sealed = one.seal(content(alice, echo));
    expect(one.open(sealed, alice, echo)).not.toBeNull();
    expectUnknownSession(() => two.open(sealed, alice, echo));
  });
});
