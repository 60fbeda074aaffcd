import { z } from 'zod';

export const ServerTransports = ['streamable-http', 'sse'] as const;
export const AuthTypes = ['none', 'header'] as const;
export type AuthType = (typeof AuthTypes)[number];

/** What the edge needs to route to one upstream MCP server. Holds no secret. */
export const ServerTargetSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  url: z.url(),
  transport: z.enum(ServerTransports),
  authType: z.enum(AuthTypes),
  /** Upstream request timeout for this server. */
  timeoutMs: z.number().int().positive(),
});
export type ServerTarget = z.infer<typeof ServerTargetSchema>;

export const ResolveTargetRequestSchema = z.object({ slug: z.string().min(1).max(100) });
export const ResolveTargetResponseSchema = z.object({ target: ServerTargetSchema });
