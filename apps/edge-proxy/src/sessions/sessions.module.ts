import { Module } from '@nestjs/common';
import { SealedSessions } from './sealed-sessions.service';

/** Sealed, stateless MCP session ids (DESIGN §7). */
@Module({
  providers: [SealedSessions],
  exports: [SealedSessions],
})
export class SessionsModule {}
