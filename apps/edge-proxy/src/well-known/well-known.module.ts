import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { WellKnownController } from './well-known.controller';
import { WellKnownService } from './well-known.service';

@Module({
  imports: [AccessModule],
  controllers: [WellKnownController],
  providers: [WellKnownService],
})
export class WellKnownModule {}
