import { z } from 'zod';
import { ApiErrorSchema, ApiRoute, API_ROUTES } from './api-routes';

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid request; `error.issues` names each bad field',
  401: 'No or bad bearer token',
  403: 'The principal may not do this',
  404: 'No such resource',
  409: 'Conflicts with an existing resource',
  412: 'If-Match does not match the current ETag',
};

/** JSON Schema of what a client sends (the input side of coercions and defaults). */
function schemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;
  delete json['$schema'];
  return json;
}

function parametersOf(route: ApiRoute): unknown[] {
  const path = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  const query: unknown[] = [];
  if (route.query) {
    const json = schemaOf(route.query) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(json.properties ?? {})) query.push({ name, in: 'query', required: json.required?.includes(name) ?? false, schema });
  }
  const ifMatch = route.etag === 'checks' ? [{ name: 'If-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'The ETag last read; a stale one answers 412' }] : [];
  return [...path, ...query, ...ifMatch];
}

function operationOf(route: ApiRoute): Record<string, unknown> {
  const error = { content: { 'application/json': { schema: schemaOf(ApiErrorSchema) } } };
  const failures = route.permission === 'public' ? [] : [400, 401, 403, 404, ...(route.errors ?? [])];
  const success: Record<string, unknown> = { description: route.status === 204 ? 'Done' : 'OK' };
  if (route.response) success['content'] = { 'application/json': { schema: schemaOf(route.response) } };
  if (route.etag) success['headers'] = { ETag: { schema: { type: 'string' }, description: 'Current version; send it back in If-Match' } };
  return {
    tags: [route.tag],
    summary: route.summary,
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    ...(route.permission === 'public' ? { security: [] } : { 'x-portcullis-permission': route.permission }),
    parameters: parametersOf(route),
    ...(route.body && { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body) } } } }),
    responses: {
      [String(route.status)]: success,
      ...Object.fromEntries(failures.map((status) => [String(status), { description: STATUS_TEXT[status], ...error }])),
    },
  };
}

/** The OpenAPI 3.0 document of the admin API, generated from the zod schemas the routes validate with. */
export function buildOpenApiDocument(routes: readonly ApiRoute[] = API_ROUTES): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method] = operationOf(route);
  return {
    openapi: '3.0.3',
    info: {
      title: 'Portcullis registry admin API',
      version: '1',
      description: 'Servers, groups, collaborators, tool settings and tool policies of the Portcullis MCP gateway. Authenticate with `Authorization: Bearer <gateway API key>`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
