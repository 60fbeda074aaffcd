import { AuthTypes, HeaderMapSchema, HeaderModes, OAuthGrantTypes, OAuthSettingsSchema, RequiredScopesSchema, ServerTarget, ServerTransports, TEMPLATE_VARIABLE_PATTERN } from '@portcullis/contracts';
import { z } from 'zod';
import type { ServerEntity } from '../server.entity';

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_HEADERS = 32;
export const MAX_PAGE_SIZE = 200;

export const SlugSchema = z.string().regex(SLUG_PATTERN, 'must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit');

/** An upstream URL: absolute http(s), and no credentials in it (they belong in write-only headers). */
export const UpstreamUrlSchema = z
  .string()
  .trim()
  .max(2048)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must use http or https' });
    if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain credentials; use authType "header"' });
  });

const NameSchema = z.string().trim().min(1, 'must not be empty').max(200);
const TimeoutSchema = z.number().int().min(100).max(600_000);

/** Header names are case-insensitive on the wire, so `X-Key` and `x-key` are one header. */
function checkHeaderMap(headers: Record<string, string>, ctx: z.RefinementCtx): void {
  const names = Object.keys(headers);
  if (names.length === 0) ctx.addIssue({ code: 'custom', path: ['headers'], message: 'must name at least one header' });
  if (names.length > MAX_HEADERS) ctx.addIssue({ code: 'custom', path: ['headers'], message: `must have at most ${MAX_HEADERS} headers` });
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'repeats a header name (names are case-insensitive)' });
    seen.add(name.toLowerCase());
  }
}

/** Which auth-specific fields a server's `authType` allows; any other is refused, naming the field. */
function checkAuthFields(body: { authType?: string; headerMode?: unknown; headers?: Record<string, string>; oauth?: unknown }, ctx: z.RefinementCtx, creating: boolean): void {
  const only = (field: 'headerMode' | 'headers' | 'oauth', authType: string, present: boolean) => {
    if (present && body.authType !== undefined && body.authType !== authType) ctx.addIssue({ code: 'custom', path: [field], message: `is only allowed when authType is "${authType}"` });
  };
  only('headerMode', 'header', body.headerMode !== undefined);
  only('headers', 'header', body.headers !== undefined);
  only('oauth', 'oauth2', body.oauth !== undefined);
  if (creating && body.authType === 'header' && body.headers === undefined) ctx.addIssue({ code: 'custom', path: ['headers'], message: 'is required when authType is "header"' });
  if (creating && body.authType === 'oauth2' && body.oauth === undefined) ctx.addIssue({ code: 'custom', path: ['oauth'], message: 'is required when authType is "oauth2"' });
  if (body.headers) checkHeaderMap(body.headers, ctx);
  // Static headers (`X-Tenant: acme`) may sit beside the templated ones; a set with nothing for users to fill in is a global set.
  if (body.headers && body.headerMode === 'per_user' && !Object.values(body.headers).some((template) => template.match(TEMPLATE_VARIABLE_PATTERN) !== null)) {
    ctx.addIssue({ code: 'custom', path: ['headers'], message: 'must contain a {{VARIABLE}} each user fills in (headerMode "per_user")' });
  }
}

export const CreateServerBodySchema = z
  .strictObject({
    slug: SlugSchema,
    name: NameSchema,
    url: UpstreamUrlSchema,
    transport: z.enum(ServerTransports).default('streamable-http'),
    authType: z.enum(AuthTypes),
    /** With `authType: header`: `global` (default) or `per_user` (headers are templates such as `Bearer {{API_KEY}}`). */
    headerMode: z.enum(HeaderModes).optional(),
    /** Write-only: sent to the token vault, never stored or returned here. */
    headers: HeaderMapSchema.optional(),
    /** With `authType: oauth2`; the client secret is write-only (kept sealed in the token vault). */
    oauth: OAuthSettingsSchema.optional(),
    timeoutMs: TimeoutSchema.default(DEFAULT_TIMEOUT_MS),
    /** OAuth scopes an identity-provider token must grant to use the server (RFC 6749 scope-tokens, at most 32); default none. */
    requiredScopes: RequiredScopesSchema.default([]),
  })
  .superRefine((body, ctx) => checkAuthFields(body, ctx, true));
export type CreateServerBody = z.output<typeof CreateServerBodySchema>;

/** Every field optional; `slug` cannot change (clients address the server by it). */
export const UpdateServerBodySchema = z
  .strictObject({
    name: NameSchema.optional(),
    url: UpstreamUrlSchema.optional(),
    transport: z.enum(ServerTransports).optional(),
    authType: z.enum(AuthTypes).optional(),
    headerMode: z.enum(HeaderModes).optional(),
    headers: HeaderMapSchema.optional(),
    oauth: OAuthSettingsSchema.optional(),
    timeoutMs: TimeoutSchema.optional(),
    /** Replaces the whole list; `[]` requires none. */
    requiredScopes: RequiredScopesSchema.optional(),
  })
  .superRefine((body, ctx) => checkAuthFields(body, ctx, false));
export type UpdateServerBody = z.output<typeof UpdateServerBodySchema>;

export const ListServersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  /** Case-insensitive substring of the slug or the name. */
  name: z.string().trim().min(1).max(100).optional(),
});
export type ListServersQuery = z.output<typeof ListServersQuerySchema>;

export const ServerViewSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  url: z.string(),
  transport: z.enum(ServerTransports),
  authType: z.enum(AuthTypes),
  headerMode: z.enum(HeaderModes).nullable(),
  headerNames: z.array(z.string()),
  oauthGrantType: z.enum(OAuthGrantTypes).nullable(),
  timeoutMs: z.number().int(),
  requiredScopes: z.array(z.string()),
  version: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export const ServerPageSchema = z.object({ items: z.array(ServerViewSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

/** What the admin API shows of a server. No header value has a field to go into. */
export interface ServerView {
  id: string;
  slug: string;
  name: string;
  url: string;
  transport: ServerTarget['transport'];
  authType: ServerTarget['authType'];
  headerMode: ServerEntity['headerMode'];
  headerNames: string[];
  oauthGrantType: ServerTarget['oauthGrantType'];
  timeoutMs: number;
  requiredScopes: string[];
  /** Changes with every update; the ETag is `"v<version>"`. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface ServerPage {
  items: ServerView[];
  total: number;
  limit: number;
  offset: number;
}

export function toServerView(server: ServerEntity): ServerView {
  return {
    id: server.id,
    slug: server.slug,
    name: server.name,
    url: server.url,
    transport: server.transport,
    authType: server.authType,
    headerMode: server.headerMode,
    headerNames: [...server.headerNames],
    oauthGrantType: server.oauthGrantType,
    timeoutMs: server.timeoutMs,
    requiredScopes: [...server.requiredScopes],
    version: server.version,
    createdAt: server.createdAt.toISOString(),
    updatedAt: server.updatedAt.toISOString(),
  };
}

/** What the edge needs to route to a server (`registry.resolve`). */
export function toServerTarget(server: ServerEntity): ServerTarget {
  return {
    id: server.id,
    slug: server.slug,
    name: server.name,
    url: server.url,
    transport: server.transport,
    authType: server.authType,
    oauthGrantType: server.oauthGrantType,
    timeoutMs: server.timeoutMs,
    requiredScopes: [...server.requiredScopes],
  };
}
