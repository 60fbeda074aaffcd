import { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { FieldIssue, InvalidRequestError } from '../errors';

/**
 * Validates a body or query against a zod schema. A failure becomes one
 * `invalid_request` naming every bad field by JSON path; an unknown field is
 * named by its own path. Messages come from zod or the schema, never from the
 * value, so a rejected secret is not echoed back.
 */
/** Issue codes zod reports for an absent value; "is required" says it better. */
const MISSING = new Set(['invalid_type', 'invalid_value']);

export class ZodValidationPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(
    private readonly schema: T,
    private readonly what: string,
  ) {}

  transform(value: unknown): z.output<T> {
    const result = this.schema.safeParse(value, { error: (issue) => (issue.input === undefined && MISSING.has(issue.code ?? '') ? 'is required' : undefined) });
    if (result.success) return result.data;
    const issues = toFieldIssues(result.error.issues);
    throw new InvalidRequestError(`invalid ${this.what}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
  }
}

export function toFieldIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'is not a known field' }));
    }
    // A bad record key (a header name): say why, not just "invalid key".
    const message = issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
    return [{ path: path.join('.') || '(body)', message }];
  });
}
