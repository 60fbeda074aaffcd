import { startAllInOne } from '@portcullis/testing';
import { admin, describeGatewayScenario } from './gateway-scenario';

describe('all-in-one with nothing configured but the bootstrap token', () => {
  describeGatewayScenario(() => startAllInOne());
});

describe('all-in-one first start', () => {
  it('prints an admin key once, and a second start reuses the data without printing it again', async () => {
    const first = await startAllInOne({ bootstrapAdminToken: null });
    try {
      expect(first.adminToken).toMatch(/\S{20,}/);
      const created = await admin(first, 'POST', '/api/v1/servers', { slug: 'kept', name: 'Kept', url: 'http://127.0.0.1:9/mcp', authType: 'none' });
      expect(created.status).toBe(201);
      await first.stop();

      const second = await startAllInOne({ dataDir: first.dataDir, bootstrapAdminToken: null });
      try {
        expect(second.logs()).not.toContain('shown only this once');
        const kept = await admin(second, 'GET', '/api/v1/servers/kept', undefined, first.adminToken);
        expect(kept.status).toBe(200);
        expect(kept.body.slug).toBe('kept');
      } finally {
        await second.stop();
      }
    } finally {
      await first.destroy();
    }
  });
});
