import { TOOL_GLOB_PATTERN } from '@portcullis/contracts';
import { z } from 'zod';
import { SubjectSchema } from '../../authorization/subject';
import type { ToolPolicyEntity } from '../tool-policy.entity';
import type { ToolSettingEntity } from '../tool-setting.entity';

export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.\-/:]{1,128}$/;
export const MAX_GLOBS = 100;

export const ToolNameSchema = z.string().regex(TOOL_NAME_PATTERN, 'must be 1-128 letters, digits or _ . - / :');

export const PutToolSettingBodySchema = z.strictObject({
  disabled: z.boolean().default(false),
  /** Replaces the upstream's description in `tools/list`; null keeps the upstream's. */
  description: z.string().trim().min(1).max(4000).nullable().default(null),
});
export type PutToolSettingBody = z.output<typeof PutToolSettingBodySchema>;

export const ToolSettingViewSchema = z.object({ tool: z.string(), disabled: z.boolean(), description: z.string().nullable(), updatedAt: z.iso.datetime() });
export type ToolSettingView = z.infer<typeof ToolSettingViewSchema>;
export const ToolSettingListSchema = z.object({ items: z.array(ToolSettingViewSchema) });
export type ToolSettingList = z.infer<typeof ToolSettingListSchema>;

export function toToolSettingView(row: ToolSettingEntity): ToolSettingView {
  return { tool: row.tool, disabled: row.disabled, description: row.description, updatedAt: row.updatedAt.toISOString() };
}

const GlobSchema = z.string().regex(TOOL_GLOB_PATTERN, 'must be a tool name glob: letters, digits, _ . - / : and the wildcards * and ?');
const GlobListSchema = z.array(GlobSchema).max(MAX_GLOBS);

export const CreateToolPolicyBodySchema = z.strictObject({
  subject: SubjectSchema,
  /** Absent or null: no allow-list (every tool not denied). `[]`: nothing allowed. */
  allow: GlobListSchema.nullable().default(null),
  deny: GlobListSchema.default([]),
});
export type CreateToolPolicyBody = z.output<typeof CreateToolPolicyBodySchema>;

export const UpdateToolPolicyBodySchema = z.strictObject({
  allow: GlobListSchema.nullable().optional(),
  deny: GlobListSchema.optional(),
});
export type UpdateToolPolicyBody = z.output<typeof UpdateToolPolicyBodySchema>;

export const ToolPolicyViewSchema = z.object({
  id: z.uuid(),
  subject: z.string(),
  allow: z.array(z.string()).nullable(),
  deny: z.array(z.string()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type ToolPolicyView = z.infer<typeof ToolPolicyViewSchema>;
export const ToolPolicyListSchema = z.object({ items: z.array(ToolPolicyViewSchema) });
export type ToolPolicyList = z.infer<typeof ToolPolicyListSchema>;

export function toToolPolicyView(row: ToolPolicyEntity): ToolPolicyView {
  return { id: row.id, subject: row.subject, allow: row.allow, deny: row.deny, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}
