import { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { InvalidRequestError } from './errors';

/** Validates a query or body against a zod schema; failures become `invalid_request` with one issue per field. */
export class ZodValidationPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(
    private readonly schema: T,
    private readonly what: string,
  ) {}

  transform(value: unknown): z.output<T> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
    throw new InvalidRequestError(`invalid ${this.what}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
  }
}
