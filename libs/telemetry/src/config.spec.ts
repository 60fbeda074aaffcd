import { z } from 'zod';
import { exitOnConfigError, loadConfig } from './config';
import { ConfigError } from './errors';

const schema = z.object({
  DATABASE_URL: z.url(),
  VAULT_KEYS: z.string().min(10),
  EDGE_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  LOG_LEVEL: z.enum(['info', 'debug']).default('info'),
});

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(schema, env, 'edge-proxy');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe(loadConfig.name, () => {
  it('returns the typed, defaulted configuration', () => {
    const config = loadConfig(schema, { DATABASE_URL: 'postgres://db/x', VAULT_KEYS: 'k1:0123456789' }, 'edge-proxy');
    expect(config).toEqual({ DATABASE_URL: 'postgres://db/x', VAULT_KEYS: 'k1:0123456789', EDGE_PORT: 8080, LOG_LEVEL: 'info' });
  });

  it('names every bad or missing variable on one line', () => {
    const error = configError({ DATABASE_URL: 'not a url', EDGE_PORT: '99999' });
    expect(error.code).toBe('ERR_CONFIG');
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(/^edge-proxy: invalid configuration: /);
    expect(error.message).toContain('VAULT_KEYS is missing');
    expect(error.message).toMatch(/DATABASE_URL is invalid \(/);
    expect(error.message).toMatch(/EDGE_PORT is invalid \(/);
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['DATABASE_URL', 'EDGE_PORT', 'VAULT_KEYS']);
  });

  it('never echoes a value, even when a refinement message would', () => {
    const leaky = z.object({
      VAULT_KEYS: z.string().refine((value) => value.startsWith('k'), { error: (issue) => `bad keyring ${String(issue.input)}` }),
    });
    try {
      loadConfig(leaky, { VAULT_KEYS: 'secret-material-123' }, 'token-vault');
      throw new Error('expected loadConfig to throw');
    } catch (error) {
      expect((error as Error).message).toContain('VAULT_KEYS is invalid');
      expect((error as Error).message).not.toContain('secret-material-123');
    }
    const error = configError({ DATABASE_URL: 'postgres://user:hunter22@db/x', VAULT_KEYS: 'short' });
    expect(error.message).not.toContain('short');
  });
});

describe(exitOnConfigError.name, () => {
  it('prints the one line to stderr and exits 1', () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => {
      throw new Error('exit');
    }) as never);
    try {
      expect(() => exitOnConfigError(configError({}), 'edge-proxy')).toThrow('exit');
      expect(exit).toHaveBeenCalledWith(1);
      const printed = String(write.mock.calls[0]?.[0]);
      expect(printed).toMatch(/^edge-proxy: invalid configuration: .*DATABASE_URL is missing.*\n$/);
      expect(printed.trimEnd()).not.toContain('\n');
    } finally {
      write.mockRestore();
      exit.mockRestore();
    }
  });

  it('rethrows anything that is not a configuration error', () => {
    const bug = new RangeError('bug');
    expect(() => exitOnConfigError(bug, 'edge-proxy')).toThrow(bug);
  });
});
