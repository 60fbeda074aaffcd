import { z } from 'zod';

/**
 * Asymmetric JWS algorithms an identity provider may be allowed. `none` and
 * every HMAC algorithm are absent on purpose: a gateway holding only public
 * keys must never accept a token "signed" with one of them.
 */
export const JwtSigningAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type JwtSigningAlgorithm = (typeof JwtSigningAlgorithms)[number];

/** What a token of a provider stands for: a (provisioned) user, an unprovisioned external identity, or a named virtual account. */
export const IdentityProviderMappings = ['user', 'external', 'virtual_account'] as const;

const ClaimValueSchema = z.union([z.string().max(1000), z.number(), z.boolean()]);
const ClaimNameSchema = z.string().trim().min(1).max(200);

/** `claim == value` or `claim in [values]`; an array claim matches when one of its items does. */
export const ClaimRuleSchema = z.union([
  z.strictObject({ claim: ClaimNameSchema, equals: ClaimValueSchema }),
  z.strictObject({ claim: ClaimNameSchema, in: z.array(ClaimValueSchema).min(1).max(100) }),
]);
export type ClaimRule = z.infer<typeof ClaimRuleSchema>;

export const IdentityProviderNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits or dashes');

const HttpUrlSchema = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2000);

/** The provider's public client for the edge's `/login` (redirect URI `{PUBLIC_URL}/login/callback`). */
export const BrowserLoginSettingsSchema = z.strictObject({ clientId: z.string().min(1).max(500) });

/** Everything an admin sets on an identity provider; defaults are what most IdPs need. */
export const IdentityProviderSettingsSchema = z.strictObject({
  /** The exact `iss` of its tokens. */
  issuer: z.string().min(1).max(2000),
  /** OpenID discovery document; exactly one of `discoveryUrl` and `jwksUri` is set. */
  discoveryUrl: HttpUrlSchema.nullable().default(null),
  jwksUri: HttpUrlSchema.nullable().default(null),
  /** Accepted `aud` values; a token must carry at least one. */
  audiences: z.array(z.string().min(1).max(2000)).min(1).max(20),
  allowedAlgorithms: z.array(z.enum(JwtSigningAlgorithms)).min(1).default(['RS256', 'ES256']),
  clockSkewSeconds: z.int().min(0).max(300).default(60),
  /** All rules must match for the provider to accept a token; with several providers for one issuer, the one matching most rules wins. */
  claimRules: z.array(ClaimRuleSchema).max(20).default([]),
  subjectClaim: ClaimNameSchema.default('sub'),
  emailClaim: ClaimNameSchema.nullable().default('email'),
  groupsClaim: ClaimNameSchema.nullable().default(null),
  /** Required JOSE `typ` header (RFC 9068 `at+jwt`), so an ID token is never taken for an access token; null accepts any typ. */
  accessTokenType: z.string().min(1).max(100).nullable().default('at+jwt'),
  mapsTo: z.enum(IdentityProviderMappings).default('user'),
  /** With `mapsTo: virtual_account`: the virtual account every matching token stands for. */
  virtualAccount: z.string().min(1).max(63).nullable().default(null),
  enabled: z.boolean().default(true),
  /** OIDC browser login (authorization code + PKCE S256) as a public client: no client secret exists. At most one provider has it. */
  browserLogin: BrowserLoginSettingsSchema.nullable().default(null),
});
export type IdentityProviderSettings = z.infer<typeof IdentityProviderSettingsSchema>;

export const IdentityProviderViewSchema = IdentityProviderSettingsSchema.extend({
  id: z.uuid(),
  name: IdentityProviderNameSchema,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type IdentityProviderView = z.infer<typeof IdentityProviderViewSchema>;

export const CreateIdentityProviderRequestSchema = IdentityProviderSettingsSchema.extend({ name: IdentityProviderNameSchema });
export type CreateIdentityProviderRequest = z.infer<typeof CreateIdentityProviderRequestSchema>;
export const IdentityProviderResponseSchema = z.object({ identityProvider: IdentityProviderViewSchema });

export const ListIdentityProvidersRequestSchema = z.object({});
export const ListIdentityProvidersResponseSchema = z.object({ items: z.array(IdentityProviderViewSchema) });

export const IdentityProviderByNameRequestSchema = z.object({ name: z.string().min(1).max(100) });

/** Only the fields present change; the name never does. */
export const IdentityProviderChangesSchema = z.strictObject({
  issuer: IdentityProviderSettingsSchema.shape.issuer.optional(),
  discoveryUrl: HttpUrlSchema.nullable().optional(),
  jwksUri: HttpUrlSchema.nullable().optional(),
  audiences: IdentityProviderSettingsSchema.shape.audiences.optional(),
  allowedAlgorithms: z.array(z.enum(JwtSigningAlgorithms)).min(1).optional(),
  clockSkewSeconds: z.int().min(0).max(300).optional(),
  claimRules: z.array(ClaimRuleSchema).max(20).optional(),
  subjectClaim: ClaimNameSchema.optional(),
  emailClaim: ClaimNameSchema.nullable().optional(),
  groupsClaim: ClaimNameSchema.nullable().optional(),
  accessTokenType: z.string().min(1).max(100).nullable().optional(),
  mapsTo: z.enum(IdentityProviderMappings).optional(),
  virtualAccount: z.string().min(1).max(63).nullable().optional(),
  enabled: z.boolean().optional(),
  browserLogin: BrowserLoginSettingsSchema.nullable().optional(),
});
export type IdentityProviderChanges = z.infer<typeof IdentityProviderChangesSchema>;
export const UpdateIdentityProviderRequestSchema = z.object({ name: z.string().min(1).max(100), changes: IdentityProviderChangesSchema });

/** The issuers agents may get gateway tokens from: the enabled providers' (RFC 9728 `authorization_servers`). Public data. */
export const AuthorizationServersRequestSchema = z.object({});
export const AuthorizationServersResponseSchema = z.object({ issuers: z.array(z.string()) });
