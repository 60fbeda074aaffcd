import type { Principal, PrincipalRef } from '@portcullis/contracts';
import { z } from 'zod';

/**
 * Collaborator and policy subjects (DESIGN §9): `user:<email>`,
 * `team:<name>` (`team:everyone` is every authenticated principal),
 * `virtualaccount:<name>`, `external:<provider>/<sub>`. Stored in canonical
 * form (emails lower-cased), so matching is a string comparison.
 */
export const EVERYONE = 'team:everyone';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,127}$/;
const EMAIL = /^[^\s@:/]{1,64}@[^\s@:/]{1,255}$/;
const EXTERNAL = /^([A-Za-z0-9][A-Za-z0-9_.\-]{0,63})\/([^\s]{1,255})$/;

export function parseSubject(raw: string): string | null {
  const colon = raw.indexOf(':');
  if (colon <= 0) return null;
  const kind = raw.slice(0, colon);
  const value = raw.slice(colon + 1);
  switch (kind) {
    case 'user':
      return EMAIL.test(value) ? `user:${value.toLowerCase()}` : null;
    case 'team':
    case 'virtualaccount':
      return NAME.test(value) ? `${kind}:${value}` : null;
    case 'external':
      return EXTERNAL.test(value) ? `external:${value}` : null;
    default:
      return null;
  }
}

export const SubjectSchema = z
  .string()
  .max(400)
  .transform((value, ctx) => {
    const subject = parseSubject(value);
    if (subject === null) {
      ctx.addIssue({ code: 'custom', message: 'must be user:<email>, team:<name>, virtualaccount:<name> or external:<provider>/<sub>' });
      return z.NEVER;
    }
    return subject;
  });

/** A party whose subjects are computed: the principal itself, or the actor of an on-behalf-of token (no teams of its own). */
export interface Party {
  kind: PrincipalRef['kind'];
  sub: string;
  email?: string;
  teams: readonly string[];
  idp?: string;
}

export function partyOf(principal: Principal): Party {
  return { kind: principal.kind, sub: principal.sub, email: principal.email, teams: principal.teams, idp: principal.idp };
}

export function actorPartyOf(actor: PrincipalRef): Party {
  return { kind: actor.kind, sub: actor.sub, email: actor.email, teams: [] };
}

/**
 * Every subject the party answers to. `user:` only for users (an external
 * principal is matched by provider and subject, not by an email its IdP
 * asserts); `virtualaccount:` by the account's `sub`.
 */
export function subjectsOf(party: Party): Set<string> {
  const subjects = new Set<string>([EVERYONE]);
  for (const team of party.teams) subjects.add(`team:${team}`);
  if (party.kind === 'user' && party.email) subjects.add(`user:${party.email.toLowerCase()}`);
  if (party.kind === 'virtual_account') subjects.add(`virtualaccount:${party.sub}`);
  // A virtual account's sub is its own name, not an IdP subject: it must not match external grants.
  if (party.idp && party.kind !== 'virtual_account') subjects.add(`external:${party.idp}/${party.sub}`);
  return subjects;
}
