import { z } from 'zod';
import { SubjectSchema } from '../../authorization/subject';
import type { CollaboratorEntity } from '../collaborator.entity';

export const CollaboratorRoles = ['viewer', 'user', 'manager'] as const;

export const CreateCollaboratorBodySchema = z.strictObject({
  subject: SubjectSchema,
  role: z.enum(CollaboratorRoles),
});
export type CreateCollaboratorBody = z.output<typeof CreateCollaboratorBodySchema>;

/** `PUT …/collaborators/{subject}`: sets the subject's role, adding it when absent. */
export const SetCollaboratorRoleBodySchema = z.strictObject({ role: z.enum(CollaboratorRoles) });
export type SetCollaboratorRoleBody = z.output<typeof SetCollaboratorRoleBodySchema>;

export const CollaboratorViewSchema = z.object({ subject: z.string(), role: z.enum(CollaboratorRoles), createdAt: z.iso.datetime() });
export type CollaboratorView = z.infer<typeof CollaboratorViewSchema>;
export const CollaboratorListSchema = z.object({ items: z.array(CollaboratorViewSchema) });
export type CollaboratorList = z.infer<typeof CollaboratorListSchema>;

export function toCollaboratorView(row: CollaboratorEntity): CollaboratorView {
  return { subject: row.subject, role: row.role, createdAt: row.createdAt.toISOString() };
}
