import type { UserView } from '@portcullis/contracts';

/** A user row with its teams and provider links, as `UserDirectory` reads it. */
export interface UserRow {
  id: string;
  email: string | null;
  display_name: string | null;
  is_admin: boolean;
  is_auditor: boolean;
  active: boolean;
  created_at: Date;
  teams: string[] | null;
  identities: { identityProvider: string; subject: string }[] | null;
}

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    isAdmin: row.is_admin,
    isAuditor: row.is_auditor,
    active: row.active,
    createdAt: row.created_at.toISOString(),
    teams: row.teams ?? [],
    identities: row.identities ?? [],
  };
}
