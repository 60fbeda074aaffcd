import { InProcessBus } from '@portcullis/bus';
import { createLogger } from '@portcullis/telemetry';
import { IdentityModule } from './identity.module';

describe(IdentityModule.name, () => {
  describe('register', () => {
    it('refuses a guessable bootstrap admin token before anything starts', () => {
      const options = { bus: new InProcessBus(), closeBusOnShutdown: false, logger: createLogger({ service: 'identity', level: 'silent' }), databaseUrl: 'postgres://unused' };
      expect(() => IdentityModule.register({ ...options, bootstrapAdminToken: 'too-short' })).toThrow(TypeError);
      expect(() => IdentityModule.register({ ...options, bootstrapAdminToken: 'x'.repeat(32) })).not.toThrow();
    });
  });
});
