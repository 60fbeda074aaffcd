import type { VirtualAccountTokenView, VirtualAccountView } from '@portcullis/contracts';
import type { VirtualAccountRow, VirtualAccountTokenRow } from '../virtual-account.repository';

export function toVirtualAccountView(row: VirtualAccountRow): VirtualAccountView {
  return { id: row.id, name: row.name, description: row.description, canExchange: row.can_exchange, createdAt: row.created_at.toISOString() };
}

/** Never the hash: the prefix is what admins recognise a token by. */
export function toVirtualAccountTokenView(row: VirtualAccountTokenRow): VirtualAccountTokenView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

/** The principal id of a virtual account: what the audit trail and edge caches know it by. */
export function virtualAccountPrincipalId(id: string): string {
  return `virtualaccount:${id}`;
}
