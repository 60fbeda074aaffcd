import { randomBytes } from 'node:crypto';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { IdentityModule, IdentityModuleOptions } from '@portcullis/identity';
import { ObservabilityController } from '@portcullis/telemetry';
import { RegistryModule, RegistryModuleOptions } from '../src/registry.module';

/** Shared boot and request helpers of the registry's service tests (real PostgreSQL, one in-process bus). */

/** A fresh bootstrap admin token, so no two test files share one. */
export const newAdminToken = (): string => `bootstrap-admin-${randomBytes(24).toString('base64url')}`;

/** The real identity module, initialised (it serves the registry over the bus, not over HTTP). */
export async function bootIdentity(options: IdentityModuleOptions): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(IdentityModule.register(options), new FastifyAdapter(), { logger: false });
  await app.init();
  return app;
}

/** The registry module, initialised and ready for `inject`. */
export async function bootRegistry(options: RegistryModuleOptions): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(RegistryModule.register(options), new FastifyAdapter(), { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** One JSON request as `token` (an admin by default); answers the status and the parsed body. */
export async function callJson(app: NestFastifyApplication, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body: unknown, token: string) {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : null };
}

export interface ControllerRoute {
  /** `GET`, `POST`, … */
  method: string;
  /** With Nest's `:param` placeholders, e.g. `/api/v1/servers/:slug/policies/:id`. */
  path: string;
  controller: string;
  handler: object;
}

/** Every route the app's controllers declare, read from Nest's own metadata (health and metrics left out). */
export function controllerRoutes(app: NestFastifyApplication): ControllerRoute[] {
  const found: ControllerRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller || controller === ObservabilityController) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const path = `/${[base, String(Reflect.getMetadata(PATH_METADATA, handler))].filter((p) => p && p !== '/').join('/')}`;
        found.push({ method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod], path, controller: controller.name, handler });
      }
    }
  }
  return found;
}
