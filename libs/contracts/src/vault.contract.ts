import { z } from 'zod';
import { PrincipalSchema } from './principal.schema';
import { AuthTypes, HeaderModes, OAuthGrantTypes } from './registry.contract';

export const CredentialKinds = ['none', 'header', 'oauth2', 'passthrough'] as const;
export type CredentialKind = (typeof CredentialKinds)[number];

/** The part of a server the vault needs to serve its credentials. */
export const VaultServerSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  authType: z.enum(AuthTypes),
  /** The upstream MCP server URL: the RFC 8707 `resource` of its OAuth tokens. */
  url: z.url(),
});
export type VaultServer = z.infer<typeof VaultServerSchema>;

/** The vault's view of a server (a registry target or row): nothing but what it needs. */
export function vaultServerOf(server: VaultServer): VaultServer {
  return { id: server.id, slug: server.slug, authType: server.authType, url: server.url };
}

export const ResolveCredentialRequestSchema = z.object({
  principal: PrincipalSchema,
  server: VaultServerSchema,
  /**
   * The caller's own validated IdP JWT, sent only for `oauth2` servers with
   * the `token_exchange` grant (it is the RFC 8693 subject token there).
   */
  subjectToken: z.string().min(1).max(16_384).optional(),
  /**
   * The `ready` answer whose token the upstream has just refused (401), as
   * received. The vault renews that token once, however many callers report
   * it (a token already renewed is simply served), or answers
   * `consent_required`; the edge retries the call once with the new answer.
   */
  rejected: z.object({ credentialId: z.string().min(1).max(200), expiresAt: z.iso.datetime().nullable() }).optional(),
});

/** Headers to inject upstream. Travels only between token-vault and edge-proxy. */
export const ReadyCredentialSchema = z.object({
  status: z.literal('ready'),
  credentialKind: z.enum(CredentialKinds),
  credentialId: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.iso.datetime().nullable(),
});
export type ReadyCredential = z.infer<typeof ReadyCredentialSchema>;
/**
 * The user must consent at the provider first (DESIGN §6): the edge answers
 * with `{PUBLIC_URL}/connect/{flowId}`. Never cached by the edge.
 */
export const ConsentRequiredSchema = z.object({
  status: z.literal('consent_required'),
  credentialKind: z.literal('oauth2'),
  flowId: z.string().min(1),
  /** Why: no connection yet, or the provider refused the refresh token. */
  reason: z.string(),
});
/** A `per_user` header server for which this user has not set their value(s) yet (`PUT /me/credentials/{slug}`). */
export const UserValueRequiredSchema = z.object({
  status: z.literal('value_required'),
  credentialKind: z.literal('header'),
  variables: z.array(z.string()),
});
export const ResolveCredentialResponseSchema = z.discriminatedUnion('status', [ReadyCredentialSchema, ConsentRequiredSchema, UserValueRequiredSchema]);
export type ResolvedCredential = z.infer<typeof ResolveCredentialResponseSchema>;

/** HTTP header names an admin may set (RFC 9110 token), minus the ones the gateway owns. */
export const HeaderNameSchema = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'must be an HTTP header name')
  .refine(
    (name) => !['host', 'content-length', 'connection', 'transfer-encoding', 'mcp-session-id', 'mcp-protocol-version'].includes(name.toLowerCase()),
    'is managed by the gateway',
  );
export const HeaderValueSchema = z.string().min(1).max(8192).regex(/^[^\r\n\0]*$/, 'must not contain line breaks');
export const HeaderMapSchema = z.record(HeaderNameSchema, HeaderValueSchema);

/**
 * `global`: the values themselves. `per_user`: templates such as
 * `Bearer {{API_KEY}}` whose `{{VARIABLES}}` each user fills in.
 */
export const PutServerHeadersRequestSchema = z.object({ serverId: z.uuid(), headers: HeaderMapSchema, mode: z.enum(HeaderModes).default('global') });
export const PutServerHeadersResponseSchema = z.object({ headerNames: z.array(z.string()) });

export const DeleteServerCredentialsRequestSchema = z.object({ serverId: z.uuid() });
export const DeleteServerCredentialsResponseSchema = z.object({ deleted: z.number().int().nonnegative() });

/** `{{NAME}}` in a per-user header template: upper-case letters, digits and underscores. */
export const TEMPLATE_VARIABLE_PATTERN = /\{\{([A-Z][A-Z0-9_]{0,63})\}\}/g;

export const TokenEndpointAuthMethods = ['client_secret_basic', 'client_secret_post', 'none'] as const;

/**
 * A server's upstream OAuth settings. Missing endpoints are discovered from
 * the upstream (RFC 9728, RFC 8414 / OIDC discovery); a missing client id is
 * registered (RFC 7591) where the AS offers it.
 */
export const OAuthSettingsSchema = z.strictObject({
  grantType: z.enum(OAuthGrantTypes),
  clientId: z.string().min(1).max(500).optional(),
  /** Write-only: sealed in the vault, never returned. */
  clientSecret: z.string().min(1).max(4096).optional(),
  authorizationUrl: z.url({ protocol: /^https?$/ }).optional(),
  tokenUrl: z.url({ protocol: /^https?$/ }).optional(),
  revocationUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** The AS issuer, checked against RFC 9207 `iss` on the callback when set. */
  issuer: z.url({ protocol: /^https?$/ }).optional(),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be an OAuth scope token')).max(50).default([]),
  tokenEndpointAuthMethod: z.enum(TokenEndpointAuthMethods).default('client_secret_basic'),
});
export type OAuthSettings = z.output<typeof OAuthSettingsSchema>;
/** What the vault shows of a server's OAuth settings: never the client secret. */
export const OAuthSettingsViewSchema = OAuthSettingsSchema.omit({ clientSecret: true }).extend({ hasClientSecret: z.boolean() });
export type OAuthSettingsView = z.infer<typeof OAuthSettingsViewSchema>;

export const PutServerOAuthRequestSchema = z.object({ server: VaultServerSchema, settings: OAuthSettingsSchema });
export const PutServerOAuthResponseSchema = z.object({ settings: OAuthSettingsViewSchema });
export const GetServerOAuthRequestSchema = z.object({ serverId: z.uuid() });
export const GetServerOAuthResponseSchema = z.object({ settings: OAuthSettingsViewSchema.nullable() });

/** A user's own values for a `per_user` header server's template variables. */
export const PutUserCredentialRequestSchema = z.object({
  principal: PrincipalSchema,
  server: VaultServerSchema,
  values: z.record(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a template variable name'), HeaderValueSchema),
});
export const PutUserCredentialResponseSchema = z.object({ variables: z.array(z.string()) });
export const DeleteUserCredentialRequestSchema = z.object({ principalId: z.string().min(1), serverId: z.uuid() });
export const DeleteUserCredentialResponseSchema = z.object({ deleted: z.number().int().nonnegative() });

export const ConnectionStatuses = ['authenticated', 'authentication_required', 'authentication_not_required'] as const;
export type ConnectionStatus = (typeof ConnectionStatuses)[number];

/**
 * Creates a consent flow for (principal, server), or returns the pending one:
 * PKCE S256, RFC 8707 resource, single-use 256-bit state, 10-minute expiry.
 */
export const OAuthStartRequestSchema = z.object({ principal: PrincipalSchema, server: VaultServerSchema });
export const OAuthStartResponseSchema = z.object({ flowId: z.string(), expiresAt: z.iso.datetime() });

/** `GET /me/connections/{slug}/authorize`: the status, and a flow to start when consent is needed. */
export const ConnectionStatusRequestSchema = z.object({ principal: PrincipalSchema, server: VaultServerSchema });
export const ConnectionStatusResponseSchema = z.object({ status: z.enum(ConnectionStatuses), flowId: z.string().nullable() });

/** One (principal, server) connection, as users and admins see it: never a token. */
export const ConnectionViewSchema = z.object({
  serverId: z.uuid(),
  principalId: z.string(),
  /** `active`: a usable token; `needs_consent`: the provider refused its refresh token. */
  status: z.enum(['active', 'needs_consent']),
  scopes: z.array(z.string()),
  expiresAt: z.iso.datetime().nullable(),
  updatedAt: z.iso.datetime(),
});
export type ConnectionView = z.infer<typeof ConnectionViewSchema>;

export const ListConnectionsRequestSchema = z.union([z.object({ principalId: z.string().min(1) }), z.object({ serverId: z.uuid() })]);
export const ListConnectionsResponseSchema = z.object({ connections: z.array(ConnectionViewSchema) });
/** Deletes one connection, revoking its tokens at the provider (RFC 7009) where it has an endpoint. */
export const DeleteConnectionRequestSchema = z.object({ principalId: z.string().min(1), serverId: z.uuid() });
export const DeleteConnectionResponseSchema = z.object({ deleted: z.boolean(), revokedAtProvider: z.boolean() });

/**
 * `{PUBLIC_URL}/connect/{flowId}`: where to send the browser. `browserPrincipalId`
 * is the signed-in user where browser login is configured; a flow started by
 * someone else is refused.
 */
export const OAuthConnectRequestSchema = z.object({ flowId: z.string().min(1).max(200), browserPrincipalId: z.string().nullable() });
export const OAuthConnectResponseSchema = z.object({ authorizationUrl: z.url() });

/** `{PUBLIC_URL}/oauth/callback`: the provider's answer, as received. */
export const OAuthCallbackRequestSchema = z.object({
  state: z.string().min(1).max(500),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().max(200).optional(),
  errorDescription: z.string().max(1000).optional(),
  iss: z.string().max(2048).optional(),
  browserPrincipalId: z.string().nullable(),
});
export const OAuthCallbackResponseSchema = z.object({ serverId: z.uuid(), serverSlug: z.string(), principalId: z.string() });

export const RotateVaultKeysRequestSchema = z.object({ batchSize: z.number().int().min(1).max(10_000).default(500) });
export const RotateVaultKeysResponseSchema = z.object({ rewrapped: z.number().int().nonnegative(), alreadyCurrent: z.number().int().nonnegative(), activeKeyId: z.string() });

/**
 * The gateway's own credential for a server, for admin work (the registry
 * listing an upstream's tools): `none`, or a global header set. Never a
 * user's: per-user and OAuth servers answer NOT_FOUND. Kept apart from
 * `vault.credential.resolve`, which only the edge may ask (DESIGN §3).
 */
export const ResolveSharedCredentialRequestSchema = z.object({ server: VaultServerSchema });
export const ResolveSharedCredentialResponseSchema = ReadyCredentialSchema;
