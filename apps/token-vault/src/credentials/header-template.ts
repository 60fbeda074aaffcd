import { HeaderValueSchema, TEMPLATE_VARIABLE_PATTERN } from '@portcullis/contracts';

/** The `{{VARIABLES}}` of one header template, in order of first appearance. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(TEMPLATE_VARIABLE_PATTERN)].map((match) => match[1]))];
}

/** The distinct variables of a whole header set, in header then appearance order. */
export function headerSetVariables(templates: Iterable<string>): string[] {
  const variables = new Set<string>();
  for (const template of templates) for (const name of templateVariables(template)) variables.add(name);
  return [...variables];
}

/**
 * True when the template still holds `{{` or `}}` once its variables are taken
 * out: `{{api_key}}` or `{{ API_KEY }}` is a typo the admin wants to hear about,
 * not a literal to send upstream.
 */
export function hasMalformedPlaceholder(template: string): boolean {
  const rest = template.replace(TEMPLATE_VARIABLE_PATTERN, '');
  return rest.includes('{{') || rest.includes('}}');
}

/**
 * Fills the template in one pass, so a value that itself contains `{{X}}` is
 * sent as written, never expanded. Returns null when a variable has no value
 * or the result is not a valid header value (e.g. too long); HeaderValueSchema
 * has already refused line breaks in the values themselves.
 */
export function renderTemplate(template: string, values: ReadonlyMap<string, string>): string | null {
  if (templateVariables(template).some((name) => !values.has(name))) return null;
  const rendered = template.replace(TEMPLATE_VARIABLE_PATTERN, (_placeholder: string, name: string) => values.get(name) ?? '');
  return HeaderValueSchema.safeParse(rendered).success ? rendered : null;
}
