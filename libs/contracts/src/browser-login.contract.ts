import { z } from 'zod';

/** `identity.login.api-key`: a user's own API key (the all-in-one login form) becomes a browser session. */
export const LoginWithApiKeyRequestSchema = z.object({ apiKey: z.string().min(1).max(8192) });
/** The session token (`pcs_…`) is shown only here: identity keeps its SHA-256. */
export const BrowserSessionResponseSchema = z.object({ sessionToken: z.string().startsWith('pcs_'), expiresAt: z.string() });
export type BrowserSessionResponse = z.infer<typeof BrowserSessionResponseSchema>;

/** `identity.login.logout`: revokes the browser session the token stands for (an unknown token is not an error). */
export const LogoutRequestSchema = z.object({ sessionToken: z.string().min(1).max(8192) });
export const LogoutResponseSchema = z.object({ revoked: z.boolean() });
