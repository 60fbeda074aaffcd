import { RequiredScopesSchema } from '@portcullis/contracts';
import { z } from 'zod';
import { SlugSchema } from '../../servers/dto/server.dto';
import { ToolNameSchema } from '../../tools/dto/tool.dto';

export const MAX_VIRTUAL_TOOLS = 200;

export const VirtualToolRefSchema = z.strictObject({
  server: SlugSchema,
  tool: ToolNameSchema,
  /** The name clients see; the upstream name when absent. */
  alias: ToolNameSchema.optional(),
});

const NameSchema = z.string().trim().min(1, 'must not be empty').max(200);
const ToolsSchema = z.array(VirtualToolRefSchema).min(1, 'must list at least one tool').max(MAX_VIRTUAL_TOOLS);

export const CreateVirtualServerBodySchema = z.strictObject({
  slug: SlugSchema,
  name: NameSchema,
  tools: ToolsSchema,
  /** OAuth scopes an identity-provider token must grant to use the virtual server (its servers' own are not added); default none. */
  requiredScopes: RequiredScopesSchema.default([]),
});
export type CreateVirtualServerBody = z.output<typeof CreateVirtualServerBodySchema>;

/** `tools` replaces the whole list; the slug cannot change. */
export const UpdateVirtualServerBodySchema = z.strictObject({ name: NameSchema.optional(), tools: ToolsSchema.optional(), requiredScopes: RequiredScopesSchema.optional() });
export type UpdateVirtualServerBody = z.output<typeof UpdateVirtualServerBodySchema>;

export const VirtualServerViewSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  tools: z.array(z.object({ server: z.string(), tool: z.string(), alias: z.string() })),
  requiredScopes: z.array(z.string()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type VirtualServerView = z.infer<typeof VirtualServerViewSchema>;
export const VirtualServerPageSchema = z.object({ items: z.array(VirtualServerViewSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
export type VirtualServerPage = z.infer<typeof VirtualServerPageSchema>;
