import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';

/**
 * Tells live tails in this process that a row was appended, so they read it
 * at once instead of at their next poll. Tails still poll: rows written by
 * another replica of the audit service raise no signal here.
 */
@Injectable()
export class AuditTail {
  private readonly appended = new EventEmitter().setMaxListeners(0);

  notify(seq: number): void {
    this.appended.emit('appended', seq);
  }

  /** Resolves on the next append, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  waitForAppend(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.appended.off('appended', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.appended.once('appended', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
