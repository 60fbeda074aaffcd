import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFolder } from './data-folder';

describe(DataFolder.name, () => {
  let path: string;
  let folder: DataFolder;

  beforeEach(async () => {
    path = await mkdtemp(join(tmpdir(), 'portcullis-data-'));
    folder = new DataFolder(path);
    await folder.ensure();
  });

  afterEach(() => rm(path, { recursive: true, force: true }));

  describe('sessionKeyring', () => {
    it('generates the session keys on first start into a 0600 file, and reuses them afterwards (sessions outlive a restart)', async () => {
      const first = await folder.sessionKeyring();
      expect(first.kids).toEqual(['s1']);
      expect((await stat(join(path, 'session-keys'))).mode & 0o777).toBe(0o600);
      const again = await new DataFolder(path).sessionKeyring();
      expect(again.toString()).toBe(first.toString());
    });

    it('keeps the session keys apart from the vault keys', async () => {
      const [vault, sessions] = [await folder.vaultKeyring(), await folder.sessionKeyring()];
      expect(sessions.toString().split(':')[1]).not.toBe(vault.toString().split(':')[1]);
      expect((await stat(join(path, 'vault-keys'))).mode & 0o777).toBe(0o600);
    });
  });
});
