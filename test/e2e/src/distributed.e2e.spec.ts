import { startDistributedGateway } from '@portcullis/testing';
import { describeGatewayScenario } from './gateway-scenario';

describe('five services as separate processes over NATS and PostgreSQL', () => {
  describeGatewayScenario(startDistributedGateway);
});
