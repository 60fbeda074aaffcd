import { Injectable } from '@nestjs/common';

/** The only way token-vault reads the time, so tests can freeze it. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
