import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '@portcullis/contracts';
import { auditEvent } from '@portcullis/testing';
import { InProcessBus } from './in-process.bus';

const event = (): AuditEvent =>
  auditEvent({ id: randomUUID(), principal: { id: 'u-1', kind: 'user', email: 'alice@example.com' }, credentialKind: null, credentialId: null, latencyMs: 1 });

describe(InProcessBus.name, () => {
  describe('close', () => {
    it('hands the audit events still in memory to the consumer before stopping (all-in-one keeps them nowhere else)', async () => {
      const bus = new InProcessBus();
      const stored: string[] = [];
      await bus.consumeAudit(async (e) => {
        await sleep(20);
        stored.push(e.id);
      });
      const published = Array.from({ length: 5 }, event);
      for (const e of published) await bus.publishAudit(e);
      await bus.close();
      expect(stored.sort()).toEqual(published.map((e) => e.id).sort());
    });

    it('does not wait for a consumer whose store refuses the events', async () => {
      const bus = new InProcessBus({ onHandlerError: () => undefined });
      await bus.consumeAudit(async () => {
        throw new Error('database down');
      });
      await bus.publishAudit(event());
      await sleep(50);
      const started = Date.now();
      await bus.close();
      expect(Date.now() - started).toBeLessThan(500);
      expect(bus.pendingAuditCount()).toBe(1);
    });
  });
});
