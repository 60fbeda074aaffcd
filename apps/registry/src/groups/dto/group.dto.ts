import { z } from 'zod';
import { SlugSchema } from '../../servers/dto/server.dto';
import type { GroupEntity } from '../group.entity';

export const MAX_GROUP_SERVERS = 500;

const ServerListSchema = z
  .array(SlugSchema)
  .max(MAX_GROUP_SERVERS)
  .refine((slugs) => new Set(slugs).size === slugs.length, 'must not repeat a server');

export const CreateGroupBodySchema = z.strictObject({
  name: SlugSchema,
  servers: ServerListSchema.default([]),
});
export type CreateGroupBody = z.output<typeof CreateGroupBodySchema>;

/** Replaces the group's servers; the name cannot change (the API addresses the group by it). */
export const UpdateGroupBodySchema = z.strictObject({ servers: ServerListSchema });
export type UpdateGroupBody = z.output<typeof UpdateGroupBodySchema>;

export const GroupViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  servers: z.array(z.string()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type GroupView = z.infer<typeof GroupViewSchema>;
export const GroupPageSchema = z.object({ items: z.array(GroupViewSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
export type GroupPage = z.infer<typeof GroupPageSchema>;

export function toGroupView(group: GroupEntity, servers: string[]): GroupView {
  return { id: group.id, name: group.name, servers: [...servers].sort(), createdAt: group.createdAt.toISOString(), updatedAt: group.updatedAt.toISOString() };
}
