import { z } from 'zod';
import { RequiredScopesSchema } from './principal.schema';

export const ServerTransports = ['streamable-http', 'sse'] as const;
export const AuthTypes = ['none', 'header', 'oauth2', 'passthrough'] as const;
export type AuthType = (typeof AuthTypes)[number];
/** `global`: one value for every caller; `per_user`: each user supplies the template's variables. */
export const HeaderModes = ['global', 'per_user'] as const;
export type HeaderMode = (typeof HeaderModes)[number];
export const OAuthGrantTypes = ['authorization_code', 'client_credentials', 'token_exchange'] as const;
export type OAuthGrantType = (typeof OAuthGrantTypes)[number];

/** What the edge needs to route to one upstream MCP server. Holds no secret. */
export const ServerTargetSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  url: z.url(),
  transport: z.enum(ServerTransports),
  authType: z.enum(AuthTypes),
  /** Set when `authType` is `oauth2`: the edge sends the caller's IdP token to the vault only for `token_exchange`. */
  oauthGrantType: z.enum(OAuthGrantTypes).nullable(),
  /** Upstream request timeout for this server. */
  timeoutMs: z.number().int().positive(),
  /** Scopes a scope-limited caller's token must all grant (absent or empty: none); served in RFC 9728 metadata and challenges. */
  requiredScopes: RequiredScopesSchema.optional(),
});
export type ServerTarget = z.infer<typeof ServerTargetSchema>;

export const ResolveTargetRequestSchema = z.object({ slug: z.string().min(1).max(100) });
export const ResolveTargetResponseSchema = z.object({ target: ServerTargetSchema });
