import { Clock } from '../src/clock';

/** A clock that stands still until a test moves `time` (epoch milliseconds). */
export class FrozenClock extends Clock {
  constructor(public time = Date.parse('2026-01-01T00:00:00Z')) {
    super();
  }

  override nowMs(): number {
    return this.time;
  }
}
