import { Module } from '@nestjs/common';
import { EventPartitions } from './event-partitions';
import { PartitionsAtStart } from './partitions-at-start';

@Module({ providers: [EventPartitions, PartitionsAtStart], exports: [EventPartitions] })
export class PartitionsModule {}
