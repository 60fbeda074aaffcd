import type { AuditEvent } from '@portcullis/contracts';
import { Column, Entity, Generated, PrimaryColumn } from 'typeorm';

export const AUDIT_SCHEMA = 'audit';

const bigintAsNumber = { to: (value: number) => value, from: (value: string | null) => (value === null ? null : Number(value)) };

/**
 * One row of the append-only `audit.events` table: the event flattened into
 * columns (so it can be queried) plus its place in the hash chain. The
 * migrations' trigger refuses UPDATE, DELETE and TRUNCATE; the table is
 * partitioned by month of `recorded_at`.
 */
@Entity({ schema: AUDIT_SCHEMA, name: 'events' })
export class AuditEventEntity {
  /** Chain order: writes are serialized, so seq order is append order. */
  @PrimaryColumn({ type: 'bigint', transformer: bigintAsNumber })
  @Generated('increment')
  seq!: number;

  /** Unique through `audit.event_ids` (a partitioned table cannot enforce it). */
  @Column({ type: 'uuid' })
  id!: string;

  @Column({ type: 'timestamptz' })
  ts!: Date;

  @Column({ name: 'trace_id', type: 'text', nullable: true })
  traceId!: string | null;

  @Column({ name: 'principal_id', type: 'text', nullable: true })
  principalId!: string | null;

  @Column({ name: 'principal_kind', type: 'text', nullable: true })
  principalKind!: string | null;

  @Column({ name: 'principal_email', type: 'text', nullable: true })
  principalEmail!: string | null;

  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId!: string | null;

  @Column({ name: 'actor_kind', type: 'text', nullable: true })
  actorKind!: string | null;

  @Column({ name: 'actor_email', type: 'text', nullable: true })
  actorEmail!: string | null;

  @Column({ type: 'text' })
  action!: string;

  @Column({ type: 'text', nullable: true })
  method!: string | null;

  @Column({ type: 'text', nullable: true })
  server!: string | null;

  @Column({ type: 'text', nullable: true })
  tool!: string | null;

  @Column({ name: 'credential_kind', type: 'text', nullable: true })
  credentialKind!: string | null;

  @Column({ name: 'credential_id', type: 'text', nullable: true })
  credentialId!: string | null;

  @Column({ type: 'text' })
  outcome!: string;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'latency_ms', type: 'double precision', nullable: true })
  latencyMs!: number | null;

  @Column({ name: 'prev_hash', type: 'text' })
  prevHash!: string;

  @Column({ type: 'text' })
  hash!: string;

  /** When the writer stored the row (the partition key): not part of the event, not hashed. */
  @Column({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}

type Party = NonNullable<AuditEvent['principal']>;

function party(id: string | null, kind: string | null, email: string | null): Party | null {
  if (id === null || kind === null) return null;
  // An absent email stays absent: the hash covers the event exactly as it was published.
  return email === null ? { id, kind: kind as Party['kind'] } : { id, kind: kind as Party['kind'], email };
}

/** The event a row holds, exactly as it was hashed. */
export function auditEventOf(row: AuditEventEntity): AuditEvent {
  return {
    id: row.id,
    ts: row.ts.toISOString(),
    traceId: row.traceId,
    principal: party(row.principalId, row.principalKind, row.principalEmail),
    actor: party(row.actorId, row.actorKind, row.actorEmail),
    action: row.action as AuditEvent['action'],
    method: row.method,
    server: row.server,
    tool: row.tool,
    credentialKind: row.credentialKind,
    credentialId: row.credentialId,
    outcome: row.outcome as AuditEvent['outcome'],
    reason: row.reason,
    latencyMs: row.latencyMs,
  };
}
