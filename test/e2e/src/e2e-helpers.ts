import type { AddressInfo } from 'node:net';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

/** Shared plumbing of the end-to-end specs that assemble a gateway from the service modules themselves. */

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The body of an MCP `initialize` request from a client called `clientName`. */
export function initializeRequest(clientName: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: clientName, version: '1.0.0' } },
  });
}

/** `http://127.0.0.1:<port>` of an app listening on loopback. */
export const listeningUrl = (app: INestApplication): string => `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

/**
 * Starts a module (on a loopback port when `listen`: that port when a number,
 * else a free one; only initialised otherwise) and remembers it in `apps` for closing.
 */
export function moduleStarter(apps: INestApplication[]) {
  return async (module: Parameters<typeof NestFactory.create>[0], listen: boolean | number): Promise<NestFastifyApplication> => {
    const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: false });
    if (listen !== false) await app.listen(listen === true ? 0 : listen, '127.0.0.1');
    else await app.init();
    apps.push(app);
    return app;
  };
}

/** One admin API call over real HTTP; answers the status and the parsed body. */
export async function adminRequest(baseUrl: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
