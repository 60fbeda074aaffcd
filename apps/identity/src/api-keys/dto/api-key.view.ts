import type { ApiKeyView } from '@portcullis/contracts';
import type { ApiKeyWithOwner } from '../api-key.repository';

/** What callers may see of a key: never its hash. `isAdmin` is the key's effective right. */
export function toApiKeyView(key: ApiKeyWithOwner): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    // Keys are created for an e-mail, so their owners have one; users first seen through an IdP may not.
    ownerEmail: key.user.email ?? '',
    ownerUserId: key.userId,
    isAdmin: key.isAdmin && key.user.isAdmin,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
