import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Keyring } from '@portcullis/crypto';

/**
 * The all-in-one data folder: the embedded database and the keys generated on
 * first start. Key files are written with mode 0600 and reused afterwards.
 */
export class DataFolder {
  constructor(readonly path: string) {}

  async ensure(): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o711 });
  }

  /** The vault keyring from `vault-keys` (created on first start). */
  vaultKeyring(): Promise<Keyring> {
    return this.keyring('vault-keys', 'k1');
  }

  /** The keys sealing MCP session ids (`SESSION_KEYS`) from `session-keys` (created on first start): sessions outlive a restart. */
  sessionKeyring(): Promise<Keyring> {
    return this.keyring('session-keys', 's1');
  }

  /** A keyring kept in `name` (same `kid:base64` format as the environment variables), generated with one key the first time. */
  private async keyring(name: string, firstKid: string): Promise<Keyring> {
    const file = join(this.path, name);
    const existing = await readOptional(file);
    if (existing) return Keyring.parse(existing.trim(), file);
    const keyring = Keyring.generate(firstKid);
    await writeSecretFile(file, keyring.toString());
    return keyring;
  }

  /** True exactly once per data folder: whether the first admin key still has to be issued. */
  async claimFirstStart(): Promise<boolean> {
    const file = join(this.path, 'initialized');
    if (await readOptional(file)) return false;
    await writeSecretFile(file, `${new Date().toISOString()}\n`);
    return true;
  }
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function writeSecretFile(file: string, content: string): Promise<void> {
  await writeFile(file, content, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
}
