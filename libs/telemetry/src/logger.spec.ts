import { Writable } from 'node:stream';
import { createLogger, PinoNestLogger, REDACT_CENSOR } from './logger';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const text = (): string => chunks.join('');
  const lines = (): Array<Record<string, unknown>> =>
    text()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, lines, text };
}

describe(createLogger.name, () => {
  it('writes JSON lines with the service name and a level label', () => {
    const out = capture();
    createLogger({ service: 'edge-proxy', destination: out.stream }).info({ tool: 'search' }, 'called');
    expect(out.lines()[0]).toMatchObject({ level: 'info', service: 'edge-proxy', tool: 'search', msg: 'called' });
  });

  it('keeps authorization headers, tokens and client secrets out of log lines', () => {
    const out = capture();
    const log = createLogger({ service: 'token-vault', destination: out.stream });
    log.info({ headers: { authorization: 'Bearer abc', accept: 'application/json' }, token: 'x-tok', clientSecret: 'y-sec' });
    log.info({
      req: { headers: { authorization: 'Bearer req-abc', cookie: 'sid=req-cookie' } },
      upstream: { headers: { 'x-api-key': 'upstream-key' }, accessToken: 'at-1', refreshToken: 'rt-1' },
      credential: { oauth: { client_secret: 'cs-2', password: 'pw-2' } },
      response: { headers: { 'set-cookie': ['sid=set-cookie'] } },
      list: [{ apiKey: 'ak-3' }],
      secret: 's-4',
    });
    const text = out.text();
    for (const secret of ['Bearer abc', 'x-tok', 'y-sec', 'req-abc', 'req-cookie', 'upstream-key', 'at-1', 'rt-1', 'cs-2', 'pw-2', 'set-cookie', 'ak-3', 's-4']) {
      expect(text).not.toContain(secret);
    }
    const [first] = out.lines();
    expect(first).toMatchObject({
      headers: { authorization: REDACT_CENSOR, accept: 'application/json' },
      token: REDACT_CENSOR,
      clientSecret: REDACT_CENSOR,
    });
  });

  it('honours the level and rejects an unknown one', () => {
    const out = capture();
    const log = createLogger({ service: 's', level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((line) => line['msg'])).toEqual(['shown']);
    expect(() => createLogger({ service: 's', level: 'loud' })).toThrow(TypeError);
  });
});

describe(PinoNestLogger.name, () => {
  it('maps Nest levels and a trailing context argument onto pino', () => {
    const out = capture();
    const nest = new PinoNestLogger(createLogger({ service: 's', level: 'trace', destination: out.stream }));
    nest.log('Nest application successfully started', 'NestApplication');
    nest.warn('careful');
    nest.verbose('chatty', 'Router');
    nest.error('boom', 'Error: boom\n    at x (file.ts:1:1)', 'ExceptionsHandler');
    nest.error(new Error('thrown'));
    expect(out.lines()).toEqual([
      expect.objectContaining({ level: 'info', msg: 'Nest application successfully started', context: 'NestApplication' }),
      expect.objectContaining({ level: 'warn', msg: 'careful' }),
      expect.objectContaining({ level: 'trace', msg: 'chatty', context: 'Router' }),
      expect.objectContaining({ level: 'error', msg: 'boom', context: 'ExceptionsHandler', stack: expect.stringContaining('at x') }),
      expect.objectContaining({ level: 'error', msg: 'thrown', err: expect.objectContaining({ message: 'thrown' }) }),
    ]);
  });

  it('sets the pino level from Nest log levels', () => {
    const log = createLogger({ service: 's', destination: capture().stream });
    new PinoNestLogger(log).setLogLevels(['error', 'warn']);
    expect(log.level).toBe('warn');
  });
});
