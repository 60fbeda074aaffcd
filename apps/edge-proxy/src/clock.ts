import { Injectable } from '@nestjs/common';

/** The only way the edge reads the time, so tests can freeze it. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date(this.nowMs());
  }

  /** Epoch milliseconds: what the caches compare on every call, without a Date each time. Test clocks override this one. */
  nowMs(): number {
    return Date.now();
  }
}
