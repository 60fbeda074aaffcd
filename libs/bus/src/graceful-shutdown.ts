import type { INestApplication } from '@nestjs/common';
import { HealthRegistry, loadConfig, type Logger, Settings } from '@portcullis/telemetry';
import { z } from 'zod';
import type { Bus } from './bus';
import { HttpDrain } from './http-drain';

/** Below Kubernetes' default `terminationGracePeriodSeconds` of 30 (deploy/kubernetes), so the drain ends before SIGKILL. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;
/** Of the grace period, what the bus drain and the modules' close keep for themselves after the HTTP drain. */
const CLOSE_RESERVE_MS = 5_000;

const ShutdownConfigSchema = z
  .object({
    /** How long a stopping process may take, from the signal to its exit. */
    SHUTDOWN_GRACE_MS: Settings.optional(z.coerce.number().int().min(1000).max(600_000)),
    /** How long it keeps serving after /readyz turns 503, so load balancers stop sending to it first. */
    SHUTDOWN_DELAY_MS: Settings.optional(z.coerce.number().int().min(0).max(60_000)),
  })
  .refine((c) => (c.SHUTDOWN_DELAY_MS ?? 0) < (c.SHUTDOWN_GRACE_MS ?? DEFAULT_SHUTDOWN_GRACE_MS), {
    path: ['SHUTDOWN_DELAY_MS'],
    message: 'must be shorter than SHUTDOWN_GRACE_MS',
  });

export interface ShutdownSettings {
  graceMs: number;
  readinessDelayMs: number;
}

/** `SHUTDOWN_GRACE_MS` (default 20 s) and `SHUTDOWN_DELAY_MS` (default 0), checked like every other setting at start. */
export function loadShutdownSettings(env: NodeJS.ProcessEnv, service: string): ShutdownSettings {
  const config = loadConfig(ShutdownConfigSchema, env, service);
  return { graceMs: config.SHUTDOWN_GRACE_MS ?? DEFAULT_SHUTDOWN_GRACE_MS, readinessDelayMs: config.SHUTDOWN_DELAY_MS ?? 0 };
}

export interface GracefulShutdownOptions {
  logger: Logger;
  settings: ShutdownSettings;
  /** Drained after HTTP (requests in flight still need it), before the apps close. */
  bus: Bus;
  /** Runs after every app has closed: what the process started besides them (an embedded database, tracing). */
  afterClose?: () => Promise<void>;
  /** `process.exit` unless a test gives another. */
  exit?: (code: number) => void;
}

interface HostedApp {
  name: string;
  app: INestApplication;
  http: HttpDrain | null;
}

/**
 * The orderly stop of a process hosting Nest apps, on SIGTERM or SIGINT:
 * 1. /readyz answers 503 (then, with SHUTDOWN_DELAY_MS, keeps serving that long);
 * 2. no new connection or request is taken, idle keep-alive connections close;
 * 3. requests in flight finish (until the grace period less a reserve; the rest are cut);
 * 4. the bus drains: handlers in flight answer, audit publishes are acknowledged;
 * 5. the apps close (module destroy hooks: pools, database), then exit 0.
 * A second signal, or the grace period running out, exits 1 at once.
 */
export class GracefulShutdown {
  private readonly apps: HostedApp[] = [];
  private stopping: Promise<void> | null = null;
  private ready = true;
  private readonly exit: (code: number) => void;

  constructor(private readonly options: GracefulShutdownOptions) {
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  /** Hosts `app` (apps close in reverse order of adding); with `http`, call it before `app.listen`. */
  add(name: string, app: INestApplication, { http }: { http: boolean }): void {
    this.apps.push({ name, app, http: http ? new HttpDrain(app) : null });
    let health: HealthRegistry | undefined;
    try {
      health = app.get(HealthRegistry, { strict: false });
    } catch {
      health = undefined; // an app without the observability module has no /readyz to turn
    }
    health?.register('shutdown', async () => {
      if (!this.ready) throw new Error('shutting down');
    });
  }

  /** Stops on SIGTERM and SIGINT. */
  listen(): void {
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  /** The first signal starts the stop; a second one while stopping exits 1 at once. */
  onSignal(signal: NodeJS.Signals): void {
    if (this.stopping) {
      this.options.logger.warn({ signal }, 'shutdown: second signal, exiting now');
      this.exit(1);
      return;
    }
    void this.shutdown(signal);
  }

  /** Runs the stop once; later calls get the same promise. Ends by calling `exit`. */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= this.run(reason);
    return this.stopping;
  }

  private async run(reason: string): Promise<void> {
    const { logger, settings, bus } = this.options;
    const started = Date.now();
    const deadline = started + settings.graceMs;
    const forced = setTimeout(() => {
      logger.error({ graceMs: settings.graceMs }, 'shutdown: grace period over, exiting now');
      this.exit(1);
    }, settings.graceMs);
    forced.unref();
    let failed = false;
    const attempt = async (phase: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        failed = true;
        logger.error({ err: error, phase }, 'shutdown: phase failed');
      }
    };

    this.ready = false;
    logger.info({ reason, graceMs: settings.graceMs, readinessDelayMs: settings.readinessDelayMs }, 'shutdown: not ready (/readyz answers 503)');
    if (settings.readinessDelayMs > 0) await sleep(settings.readinessDelayMs);

    const served = this.apps.filter((hosted) => hosted.http !== null);
    const inFlight = served.reduce((sum, hosted) => sum + hosted.http!.active, 0);
    logger.info({ inFlight }, 'shutdown: taking no new connections or requests; waiting for requests in flight');
    const httpDeadline = deadline - Math.min(CLOSE_RESERVE_MS, settings.graceMs / 4);
    const drained = { finished: 0, streamsClosed: 0, cut: 0 };
    await attempt('http', async () => {
      for (const result of await Promise.all(served.map((hosted) => hosted.http!.drain(httpDeadline)))) {
        drained.finished += result.finished;
        drained.streamsClosed += result.streamsClosed;
        drained.cut += result.cut;
      }
    });
    logger[drained.cut > 0 ? 'warn' : 'info']({ ...drained, ms: Date.now() - started }, 'shutdown: HTTP drained');

    // The bus drain leaves the apps' close a moment of the grace period.
    await attempt('bus', () => withDeadline(bus.close(), deadline - Math.min(1000, settings.graceMs / 10), 'the bus drain'));
    logger.info({ ms: Date.now() - started }, 'shutdown: bus drained (handlers in flight answered, audit publishes acknowledged)');

    for (const { name, app } of [...this.apps].reverse()) await attempt(`close ${name}`, () => app.close());
    if (this.options.afterClose) await attempt('after close', this.options.afterClose);
    clearTimeout(forced);
    logger.info({ ms: Date.now() - started, exitCode: failed ? 1 : 0 }, 'shutdown: closed, exiting');
    this.exit(failed ? 1 : 0);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withDeadline(work: Promise<void>, deadline: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not end before the grace period`)), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
