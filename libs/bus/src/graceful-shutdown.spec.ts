import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { ConfigError, createLogger } from '@portcullis/telemetry';
import { GracefulShutdown, loadShutdownSettings } from './graceful-shutdown';
import { InProcessBus } from './in-process.bus';

/** A logger whose lines the test reads back (messages only). */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'shutdown-spec', level: 'info', destination }) };
}

describe(GracefulShutdown.name, () => {
  describe('shutdown', () => {
    it('lets a bus handler in flight answer, logs one line per phase and exits 0', async () => {
      const { lines, logger } = capturingLogger();
      const bus = new InProcessBus();
      bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async () => {
        await sleep(300);
        return { principal: { id: 'u-1', kind: 'user', sub: 'alice', teams: [], isAdmin: false }, expiresAt: null };
      });
      const answer = bus.request(RequestSubjects.identityAuthenticate, { token: 't' });
      const exits: number[] = [];
      const shutdown = new GracefulShutdown({ logger, settings: { graceMs: 5000, readinessDelayMs: 0 }, bus, exit: (code) => exits.push(code) });

      await shutdown.shutdown('SIGTERM');
      await expect(answer).resolves.toMatchObject({ principal: { id: 'u-1' } });
      expect(exits).toEqual([0]);
      expect(lines.filter((line) => line.startsWith('shutdown:'))).toEqual([
        'shutdown: not ready (/readyz answers 503)',
        'shutdown: taking no new connections or requests; waiting for requests in flight',
        'shutdown: HTTP drained',
        'shutdown: bus drained (handlers in flight answered, audit publishes acknowledged)',
        'shutdown: closed, exiting',
      ]);
    });

    it('exits 1 when the bus drain does not end within the grace period', async () => {
      const { lines, logger } = capturingLogger();
      const { bus, release } = busWithHandlerInFlight();
      const exits: number[] = [];
      const shutdown = new GracefulShutdown({ logger, settings: { graceMs: 400, readinessDelayMs: 0 }, bus, exit: (code) => exits.push(code) });

      const started = Date.now();
      await shutdown.shutdown('SIGTERM');
      expect(exits).toEqual([1]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(Date.now() - started).toBeLessThan(400);
      expect(lines).toContain('shutdown: phase failed');
      release();
    });

    it('exits 1 at the end of the grace period whatever still hangs', async () => {
      const { lines, logger } = capturingLogger();
      const exits: number[] = [];
      const shutdown = new GracefulShutdown({
        logger,
        settings: { graceMs: 300, readinessDelayMs: 0 },
        bus: new InProcessBus(),
        afterClose: () => new Promise(() => undefined),
        exit: (code) => exits.push(code),
      });

      const started = Date.now();
      void shutdown.shutdown('SIGTERM');
      while (exits.length === 0) await sleep(10);
      expect(exits).toEqual([1]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(lines).toContain('shutdown: grace period over, exiting now');
    });
  });

  describe('onSignal', () => {
    it('exits 1 at once on a second signal while stopping', async () => {
      const { lines, logger } = capturingLogger();
      const { bus, release } = busWithHandlerInFlight();
      const exits: number[] = [];
      const shutdown = new GracefulShutdown({ logger, settings: { graceMs: 60_000, readinessDelayMs: 0 }, bus, exit: (code) => exits.push(code) });

      shutdown.onSignal('SIGTERM');
      await sleep(50);
      expect(exits).toEqual([]);
      shutdown.onSignal('SIGINT');
      expect(exits).toEqual([1]);
      expect(lines).toContain('shutdown: second signal, exiting now');
      release();
      await shutdown.shutdown('SIGTERM');
    });
  });
});

describe(loadShutdownSettings.name, () => {
  it('defaults to a 20 s grace period (below Kubernetes’ 30 s) and no readiness delay', () => {
    expect(loadShutdownSettings({}, 'edge-proxy')).toEqual({ graceMs: 20_000, readinessDelayMs: 0 });
  });

  it('reads both settings, and refuses a delay that is not shorter than the grace period', () => {
    expect(loadShutdownSettings({ SHUTDOWN_GRACE_MS: '25000', SHUTDOWN_DELAY_MS: '3000' }, 'edge-proxy')).toEqual({ graceMs: 25_000, readinessDelayMs: 3000 });
    expect(() => loadShutdownSettings({ SHUTDOWN_GRACE_MS: '5000', SHUTDOWN_DELAY_MS: '5000' }, 'edge-proxy')).toThrow(/SHUTDOWN_DELAY_MS/);
    expect(() => loadShutdownSettings({ SHUTDOWN_GRACE_MS: 'soon' }, 'edge-proxy')).toThrow(ConfigError);
    expect(() => loadShutdownSettings({ SHUTDOWN_GRACE_MS: '10' }, 'edge-proxy')).toThrow(/SHUTDOWN_GRACE_MS/);
  });
});

/** A bus whose handler is busy with one request until `release` is called: its drain waits for it. */
function busWithHandlerInFlight(): { bus: InProcessBus; release: () => void } {
  const bus = new InProcessBus();
  let release = (): void => undefined;
  const released = new Promise<never>((_, reject) => (release = () => reject(new Error('released'))));
  bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, () => released);
  void bus.request(RequestSubjects.identityAuthenticate, { token: 't' }, { timeoutMs: 10_000 }).catch(() => undefined);
  return { bus, release: () => release() };
}
