import { z } from 'zod';
import { RequiredScopesSchema } from './principal.schema';
import { ServerTargetSchema } from './registry.contract';

/** One tool a virtual server exposes: its name there, and the upstream server and tool it routes to. */
export const VirtualToolTargetSchema = z.object({
  /** The name clients see (the alias, or the upstream name when none is set). */
  name: z.string(),
  /** The tool's name on the upstream. */
  tool: z.string(),
  server: ServerTargetSchema,
});
export type VirtualToolTarget = z.infer<typeof VirtualToolTargetSchema>;

/** What the edge needs to serve a virtual server at `/mcp/{slug}` (tools only). Holds no secret. */
export const VirtualServerTargetSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  tools: z.array(VirtualToolTargetSchema),
  /** Scopes a scope-limited caller's token must all grant to use the virtual server (its servers' own are not added). */
  requiredScopes: RequiredScopesSchema.optional(),
});
export type VirtualServerTarget = z.infer<typeof VirtualServerTargetSchema>;

export const ResolveVirtualServerRequestSchema = z.object({ slug: z.string().min(1).max(100) });
export const ResolveVirtualServerResponseSchema = z.object({ virtualServer: VirtualServerTargetSchema });
