import { PutUserCredentialRequestSchema } from '@portcullis/contracts';
import { z } from 'zod';
import { InvalidRequestError } from '../../errors';

/** `PUT /me/credentials/{slug}`: the caller's own values of the server's template variables. */
export const PutUserCredentialBodySchema = z.strictObject({
  values: PutUserCredentialRequestSchema.shape.values.refine((values) => Object.keys(values).length > 0, 'must set at least one variable'),
});
export type PutUserCredentialBody = z.infer<typeof PutUserCredentialBodySchema>;

/**
 * Reads the JSON body. Issues name the field (`values.API_KEY`) and never
 * quote a value: these are secrets.
 * @throws InvalidRequestError
 */
export function parsePutUserCredentialBody(raw: unknown): PutUserCredentialBody {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : '');
  } catch {
    throw new InvalidRequestError('invalid body: it must be JSON like {"values": {"API_KEY": "…"}}', [{ path: '(body)', message: 'must be JSON' }]);
  }
  const result = PutUserCredentialBodySchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)',
    // A bad key's own issue says what a variable name must look like.
    message: issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message,
  }));
  throw new InvalidRequestError(`invalid body: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
}
