import { Injectable } from '@nestjs/common';

/** The only way the audit service reads the time, so tests can move it. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
