import { z } from 'zod';
import { BrowserSessionResponseSchema } from './browser-login.contract';

/** A same-origin path (`/x`, never `//host` or `/\host`); anything else is replaced by `/`. */
export const ReturnToSchema = z.string().max(2048);

/** `identity.login.start`: begins an OIDC login at the browser-login provider; `available: false` when none is configured. */
export const OidcLoginStartRequestSchema = z.object({ returnTo: ReturnToSchema.optional() });
export const OidcLoginStartResponseSchema = z.union([
  z.object({ available: z.literal(true), authorizationUrl: z.url() }),
  z.object({ available: z.literal(false) }),
]);
export type OidcLoginStartResponse = z.infer<typeof OidcLoginStartResponseSchema>;

/** `identity.login.complete`: the callback's `state`, `code` and (RFC 9207) `iss`. */
export const OidcLoginCompleteRequestSchema = z.object({
  state: z.string().min(1).max(500),
  code: z.string().min(1).max(4000),
  iss: z.string().min(1).max(2000).optional(),
});
export const OidcLoginCompleteResponseSchema = BrowserSessionResponseSchema.extend({ returnTo: z.string() });
export type OidcLoginCompleteResponse = z.infer<typeof OidcLoginCompleteResponseSchema>;
