import { AllInOneUnderTest, sleep, startAllInOne } from '@portcullis/testing';

jest.setTimeout(180_000);

/**
 * SIGTERM on `dist/apps/all-in-one/main.js` (build with `npx tsc -b tsconfig.build.json`):
 * the five apps, the in-process bus and the embedded PostgreSQL stop in order
 * and the process exits 0, without an open live tail (a GET event stream)
 * holding it until the grace period runs out.
 */
describe('all-in-one on SIGTERM', () => {
  let gateway: AllInOneUnderTest;

  beforeAll(async () => {
    gateway = await startAllInOne();
  });
  afterAll(async () => {
    await gateway?.destroy();
  });

  it('drains, closes every app and the embedded database, and exits 0 long before the grace period', async () => {
    const tail = new AbortController();
    const stream = await fetch(`${gateway.auditUrl}/api/v1/audit/stream`, {
      headers: { authorization: `Bearer ${gateway.adminToken}`, accept: 'text/event-stream' },
      signal: tail.signal,
    });
    expect(stream.status).toBe(200);
    const reading = stream.body!.pipeTo(new WritableStream()).catch(() => 'ended');
    await sleep(200);

    const [process] = gateway.processes;
    const signalled = Date.now();
    await process.stop('SIGTERM', 30_000);
    expect(await process.exited).toBe(0);
    // The default grace period is 20 s; the live tail is closed at once rather than waited for.
    expect(Date.now() - signalled).toBeLessThan(10_000);
    await reading;
    tail.abort();

    const logs = gateway.logs();
    for (const phase of ['shutdown: not ready', 'shutdown: taking no new connections', 'shutdown: HTTP drained', 'shutdown: bus drained', 'shutdown: closed, exiting']) {
      expect(logs).toContain(phase);
    }
    expect(logs).toMatch(/"streamsClosed":1,"cut":0,[^\n]*shutdown: HTTP drained/);
    expect(logs).not.toMatch(/shutdown: phase failed/);
  });
});
