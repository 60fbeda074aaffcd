import { Bus, InProcessBus, NatsBus } from '@portcullis/bus';
import { natsAuthOf } from '@portcullis/telemetry';
import type { AllInOneConfig } from './config/all-in-one.config';

/**
 * The bus all five services share: NATS when `NATS_URL` is set (with the
 * same NATS_USER, NATS_PASSWORD and NATS_TLS_* the distributed services
 * read), the in-process bus otherwise.
 */
export async function connectAllInOneBus(config: AllInOneConfig): Promise<Bus> {
  if (!config.NATS_URL) return new InProcessBus({ subjectPrefix: config.BUS_SUBJECT_PREFIX });
  return NatsBus.connect({ servers: config.NATS_URL, name: 'portcullis-all-in-one', subjectPrefix: config.BUS_SUBJECT_PREFIX, ...natsAuthOf(config) });
}
