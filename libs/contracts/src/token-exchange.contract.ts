import { z } from 'zod';
import { PrincipalRefSchema } from './principal.schema';

/** RFC 8693 token types Portcullis understands. */
export const TokenTypes = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * `identity.exchange`: the edge has checked the form's shape; identity checks
 * the tokens. Token values travel only in this request, never in the answer.
 */
export const TokenExchangeRequestSchema = z.object({
  actorToken: z.string().min(1).max(8192),
  subjectToken: z.string().min(1).max(8192),
  subjectTokenType: z.enum([TokenTypes.accessToken, TokenTypes.jwt]),
  scope: z.string().min(1).max(1000).optional(),
  /** Already checked by the edge to be `{PUBLIC_URL}/mcp/{slug}`. */
  resource: z.string().min(1).max(2048).optional(),
});
export type TokenExchangeRequest = z.infer<typeof TokenExchangeRequestSchema>;

/** The RFC 6749 §5.2 / RFC 8693 §2.2.2 error codes an exchange can end with. */
export const TokenExchangeErrorCodes = ['invalid_request', 'invalid_client', 'unauthorized_client', 'invalid_grant'] as const;

/** A refusal is an answer, not a bus error: the edge needs who was involved for the audit event. */
export const TokenExchangeResponseSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    accessToken: z.string(),
    expiresIn: z.number().int().positive(),
    scope: z.string().optional(),
    principal: PrincipalRefSchema,
    actor: PrincipalRefSchema,
  }),
  z.object({
    ok: z.literal(false),
    error: z.enum(TokenExchangeErrorCodes),
    errorDescription: z.string(),
    principal: PrincipalRefSchema.optional(),
    actor: PrincipalRefSchema.optional(),
  }),
]);
export type TokenExchangeResponse = z.infer<typeof TokenExchangeResponseSchema>;

/** `identity.jwks`: the public keys of every signing key not yet retired (never a private member). */
export const JwksRequestSchema = z.object({});
export const PublicJwkSchema = z
  .object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string(), alg: z.literal('ES256'), use: z.literal('sig') })
  .strict();
export const JwksResponseSchema = z.object({ keys: z.array(PublicJwkSchema) });
export type JwksResponse = z.infer<typeof JwksResponseSchema>;
