import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusError } from '@portcullis/bus';
import { OwnNatsServer } from '@portcullis/testing';
import { connectAllInOneBus } from './all-in-one-bus';
import { loadAllInOneConfig } from './config/all-in-one.config';

/** all-in-one against a NATS server that requires a user and password, as a shared production NATS would. */
describe('connectAllInOneBus', () => {
  const password = `p${randomBytes(18).toString('hex')}`;
  let folder: string;
  let nats: OwnNatsServer;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'portcullis-aio-nats-'));
    const configFile = join(folder, 'nats.conf');
    await writeFile(configFile, 'jetstream { store_dir: $NATS_STORE_DIR }\nauthorization { user: portcullis, password: $AIO_PASSWORD }\n');
    nats = await OwnNatsServer.start({ configFile, env: { AIO_PASSWORD: password } });
  });
  afterAll(async () => {
    await nats?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('connects with NATS_USER and NATS_PASSWORD', async () => {
    const bus = await connectAllInOneBus(loadAllInOneConfig({ NATS_URL: nats.url, NATS_USER: 'portcullis', NATS_PASSWORD: password, BUS_SUBJECT_PREFIX: 'aio_auth' }));
    try {
      expect(bus.transportName).toBe('nats');
      await expect(bus.ping()).resolves.toBeUndefined();
    } finally {
      await bus.close();
    }
  });

  it('is refused without them, with an error that does not repeat the password', async () => {
    const refused = connectAllInOneBus(loadAllInOneConfig({ NATS_URL: nats.url, NATS_USER: 'portcullis', NATS_PASSWORD: 'wrong-password-for-this-spec' }));
    await expect(refused).rejects.toBeInstanceOf(BusError);
    await expect(refused).rejects.toThrow(/cannot connect to NATS/);
    await expect(refused).rejects.not.toThrow(/wrong-password-for-this-spec/);
    await expect(connectAllInOneBus(loadAllInOneConfig({ NATS_URL: nats.url }))).rejects.toThrow(/cannot connect to NATS/);
  });
});
