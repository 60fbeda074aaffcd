import type { AuditEvent } from '@portcullis/contracts';
import type { ChainVerdict } from '../audit-chain';

/** One stored event as the compliance API shows it: the event and its chain link. */
export type AuditEventView = AuditEvent & { seq: number; prevHash: string; hash: string };

export interface ListEventsResponse {
  items: AuditEventView[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export type VerifyChainResponse = ChainVerdict;
