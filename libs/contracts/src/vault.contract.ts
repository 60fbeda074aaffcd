import { z } from 'zod';
import { PrincipalSchema } from './principal.schema';
import { AuthTypes } from './registry.contract';

export const CredentialKinds = ['none', 'header'] as const;

export const ResolveCredentialRequestSchema = z.object({
  principal: PrincipalSchema,
  server: z.object({ id: z.uuid(), slug: z.string(), authType: z.enum(AuthTypes) }),
});
/** Headers to inject upstream. Travels only between token-vault and edge-proxy. */
export const ResolveCredentialResponseSchema = z.object({
  status: z.literal('ready'),
  credentialKind: z.enum(CredentialKinds),
  credentialId: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.iso.datetime().nullable(),
});
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

export const PutServerHeadersRequestSchema = z.object({ serverId: z.uuid(), headers: HeaderMapSchema });
export const PutServerHeadersResponseSchema = z.object({ headerNames: z.array(z.string()) });

export const DeleteServerCredentialsRequestSchema = z.object({ serverId: z.uuid() });
export const DeleteServerCredentialsResponseSchema = z.object({ deleted: z.number().int().nonnegative() });
