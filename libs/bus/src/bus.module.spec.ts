import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusError } from './bus.errors';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { createLogger, MetricsRegistry, ObservabilityModule } from '@portcullis/telemetry';
import { BusModule } from './bus.module';
import { InProcessBus } from './in-process.bus';

describe(BusModule.name, () => {
  it("measures the requests its own service's handlers answer, by subject and outcome", async () => {
    const bus = new InProcessBus();
    @Module({ imports: [ObservabilityModule.forRoot({ service: 'identity', logger: createLogger({ service: 'identity', level: 'silent' }) }), BusModule.forRoot({ bus, closeOnShutdown: true })] })
    class IdentityLike {}
    const app = await NestFactory.createApplicationContext(IdentityLike, { logger: false });
    bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async ({ token }) => {
      if (token !== 'good') throw new BusError('UNAUTHENTICATED', 'no');
      return { principal: { id: 'u', kind: 'user', sub: 'u', teams: [], isAdmin: false }, expiresAt: null };
    });
    // Another service's handler on the same bus (all-in-one) is not this app's to report.
    bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async () => {
      throw new BusError('NOT_FOUND', 'none');
    });
    await bus.request(RequestSubjects.identityAuthenticate, { token: 'good' });
    await expect(bus.request(RequestSubjects.identityAuthenticate, { token: 'bad' })).rejects.toBeInstanceOf(BusError);
    await expect(bus.request(RequestSubjects.registryResolve, { slug: 'x' })).rejects.toBeInstanceOf(BusError);

    const text = await app.get(MetricsRegistry).metrics();
    const count = (outcome: string) => new RegExp(`^portcullis_bus_handler_duration_seconds_count\\{(?=[^}]*subject="identity.authenticate")(?=[^}]*outcome="${outcome}")[^}]*\\} 1$`, 'm');
    expect(text).toMatch(count('ok'));
    expect(text).toMatch(count('UNAUTHENTICATED'));
    expect(text).not.toContain('subject="registry.resolve"');
    await app.close();
  });
});
