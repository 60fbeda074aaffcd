import { Injectable } from '@nestjs/common';
import { LATEST_PROTOCOL_VERSION, McpError, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { AccessDecision, isToolVisible, Principal, ReadyCredential, roleRank, ServerTarget, VirtualServerTarget } from '@portcullis/contracts';
import type { McpHttpReply, McpHttpRequest } from '../mcp/mcp-http';
import { AccessDecisionResolver } from '../access/access-decision-resolver.service';
import { CredentialResolver } from '../access/credential-resolver.service';
import { Clock } from '../clock';
import { AccessDeniedError, ConsentRequiredError, EdgeError, InvalidMessageError, JsonRpcErrorObject } from '../errors';
import type { JsonRpcBody, JsonRpcCall, JsonRpcId } from '../mcp/json-rpc';
import { McpAuditRecorder } from '../mcp/mcp-audit.recorder';
import { UNKNOWN_TOOL_CODE } from '../mcp/tool-access';
import { SESSION_HEADER } from '../mcp/forwarded-headers';
import { isUpstreamSessionId } from '../sessions/mcp-session';
import { SealedSessions } from '../sessions/sealed-sessions.service';
import { VirtualUpstreamClient } from './virtual-upstream.client';

const METHOD_NOT_FOUND = -32601;
const INTERNAL_ERROR = -32603;
const NO_CREDENTIAL = { credentialKind: 'none', credentialId: null } as const;
/**
 * Upstream sessions kept per client session: each adds about 100 bytes to the
 * sealed id, which travels in every request header. Upstreams past this many
 * are called in short sessions of their own.
 */
export const MAX_UPSTREAM_SESSIONS = 16;

interface Request {
  id: JsonRpcId;
  method: string;
  params: Record<string, unknown>;
}

type Answer = { jsonrpc: '2.0'; id: JsonRpcId } & ({ result: unknown } | { error: { code: number; message: string; data?: unknown } });

/** Who is calling, with the bearer token they were authenticated with (forwarded only where the upstream's auth type calls for it). */
export interface Caller {
  principal: Principal;
  token: string | null;
  traceId: string | null;
}

interface Context extends Caller {
  virtualServer: VirtualServerTarget;
  decision: AccessDecision;
  /** Whether the client declared URL elicitation (in this body's `initialize`, or earlier in its session). */
  urlElicitation: boolean;
  /** The upstream sessions of the client's session, by upstream server id. */
  upstreamSessions: Readonly<Record<string, string>>;
}

/**
 * `/mcp/{slug}` of a virtual server (DESIGN §9): the edge itself is the MCP
 * server. Tools only: `initialize`, `ping`, `tools/list` (the chosen tools of
 * every upstream, renamed, filtered by the caller's access) and `tools/call`
 * (routed to the right upstream with that upstream's credential for the
 * caller). Every other method answers method-not-found. `initialize` opens
 * a session on each upstream the caller can reach and hands out a sealed
 * session id carrying them (DESIGN §7), which later requests may carry and
 * which must then open; there is no server-to-client stream.
 */
@Injectable()
export class VirtualServerProxy {
  constructor(
    private readonly decisions: AccessDecisionResolver,
    private readonly credentials: CredentialResolver,
    private readonly upstreams: VirtualUpstreamClient,
    private readonly audit: McpAuditRecorder,
    private readonly sessions: SealedSessions,
    private readonly clock: Clock,
  ) {}

  async handle(request: McpHttpRequest, reply: McpHttpReply, caller: Caller, virtualServer: VirtualServerTarget, body: JsonRpcBody): Promise<void> {
    const { principal, traceId } = caller;
    const decision = await this.decisions.decide(principal, virtualServer);
    if (decision.role === null) {
      this.audit.recordDenials({ calls: body.calls, principal, server: virtualServer.slug, reason: decision.reason, traceId });
      throw new AccessDeniedError(virtualServer.slug);
    }
    const target = { kind: 'virtual', id: virtualServer.id, slug: virtualServer.slug } as const;
    // An id that does not open is answered 404, DELETE included.
    const session = this.sessions.open(request.headers[SESSION_HEADER], principal, target);
    if (request.method === 'DELETE') {
      if (session) await this.endUpstreamSessions(session.upstreamSessions, { ...caller, virtualServer, decision, urlElicitation: false, upstreamSessions: {} });
      return void (await reply.status(204).send());
    }
    if (request.method !== 'POST') {
      // No server-to-client stream: clients then simply do without one (streamable HTTP §GET).
      return void (await reply.status(405).header('allow', 'POST, DELETE').type('application/json').send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Method not allowed' } })));
    }
    const { requests, batch } = readRequests(request.body);
    if (requests.length === 0) return void (await reply.status(202).send());
    const context: Context = { ...caller, virtualServer, decision, urlElicitation: body.urlElicitation || session?.urlElicitation === true, upstreamSessions: session?.upstreamSessions ?? {} };
    const initialize = requests.find((r) => r.method === 'initialize');
    if (initialize) {
      context.upstreamSessions = await this.openUpstreamSessions(context);
      const sealed = this.sessions.seal({ principalId: principal.id, target, upstreamSessions: context.upstreamSessions, protocolVersion: negotiatedVersion(initialize), urlElicitation: body.urlElicitation });
      void reply.header(SESSION_HEADER, sealed);
    }
    const answers = await Promise.all(requests.map((message) => this.answer(message, context)));
    await reply.status(200).type('application/json').send(JSON.stringify(batch ? answers : answers[0]));
  }

  private async answer(message: Request, context: Context): Promise<Answer> {
    const startedAt = this.clock.nowMs();
    const call: JsonRpcCall = { id: message.id, method: message.method.slice(0, 200), tool: message.method === 'tools/call' && typeof message.params['name'] === 'string' ? message.params['name'].slice(0, 500) : null };
    let credential: Pick<ReadyCredential, 'credentialKind' | 'credentialId'> = NO_CREDENTIAL;
    try {
      let result: unknown;
      switch (message.method) {
        case 'initialize':
          result = this.initialize(message, context.virtualServer);
          break;
        case 'ping':
          result = {};
          break;
        case 'tools/list':
          result = { tools: await this.listTools(context) };
          break;
        case 'tools/call': {
          const routed = this.route(call, context);
          if (!routed) return { jsonrpc: '2.0', id: message.id, error: { code: UNKNOWN_TOOL_CODE, message: `Unknown tool: ${call.tool ?? ''}` } };
          const resolved = await this.credentialFor(routed.server, context);
          credential = resolved;
          const args = message.params['arguments'];
          result = await this.upstreams.callTool(routed.server, resolved.headers, routed.tool, isObject(args) ? args : undefined, context.upstreamSessions[routed.server.id]);
          break;
        }
        default:
          return { jsonrpc: '2.0', id: message.id, error: { code: METHOD_NOT_FOUND, message: `Method not found: ${call.method}` } };
      }
      this.record(call, context, credential, 'success', null, startedAt);
      return { jsonrpc: '2.0', id: message.id, result };
    } catch (error) {
      if (error instanceof ConsentRequiredError) {
        this.audit.recordConsents({ calls: [call], principal: context.principal, servers: error.consents.map((c) => c.slug), via: context.virtualServer.slug, traceId: context.traceId });
        return { jsonrpc: '2.0', id: message.id, error: error.forClient(context.urlElicitation).jsonRpcError() };
      }
      const described = describe(error);
      this.record(call, context, credential, 'error', described.message, startedAt);
      return { jsonrpc: '2.0', id: message.id, error: described };
    }
  }

  /**
   * The caller's credential for one upstream. When it needs consent, so may
   * other upstreams of the virtual server: the answer then names every one
   * still needing it (one elicitation each), so the user consents once, not
   * call after call.
   */
  private async credentialFor(server: ServerTarget, context: Context): Promise<ReadyCredential> {
    try {
      return await this.credentials.resolve(context.principal, server, context.token);
    } catch (error) {
      if (!(error instanceof ConsentRequiredError)) throw error;
      const others = await this.credentialsFor(this.visibleUpstreams(context).filter((other) => other.id !== server.id), context);
      throw ConsentRequiredError.merge([error, ...consentsIn(others)]);
    }
  }

  private credentialsFor(servers: readonly ServerTarget[], context: Context): Promise<PromiseSettledResult<ReadyCredential>[]> {
    return Promise.allSettled(servers.map((server) => this.credentials.resolve(context.principal, server, context.token)));
  }

  /** The upstreams behind the tools the caller can see, each once. */
  private visibleUpstreams(context: Context): ServerTarget[] {
    const visible = context.virtualServer.tools.filter((tool) => isToolVisible(context.decision, tool.name));
    return [...new Map(visible.map((tool) => [tool.server.id, tool.server])).values()];
  }

  /**
   * A session on each upstream the caller can see and already has a
   * credential for. Best effort: an upstream needing consent, down, or
   * keeping no sessions is left out, and its calls go in short sessions of
   * their own (consent is then asked at the first call, as before).
   */
  private async openUpstreamSessions(context: Context): Promise<Record<string, string>> {
    const servers = this.visibleUpstreams(context).slice(0, MAX_UPSTREAM_SESSIONS);
    const credentials = await this.credentialsFor(servers, context);
    const opened = await Promise.allSettled(
      servers.map(async (server, index) => {
        const credential = credentials[index]!;
        return credential.status === 'fulfilled' ? this.upstreams.openSession(server, credential.value.headers) : null;
      }),
    );
    const sessions: Record<string, string> = {};
    opened.forEach((result, index) => {
      if (result.status === 'fulfilled' && result.value !== null && isUpstreamSessionId(result.value)) sessions[servers[index]!.id] = result.value;
    });
    return sessions;
  }

  /** Ends the upstream sessions of a client session that ends; best effort (the upstreams expire them otherwise). */
  private async endUpstreamSessions(upstreamSessions: Readonly<Record<string, string>>, context: Context): Promise<void> {
    // Every upstream of the virtual server, not only those visible now: the session was opened while it was.
    const servers = [...new Map(context.virtualServer.tools.map((tool) => [tool.server.id, tool.server])).values()].filter((server) => upstreamSessions[server.id] !== undefined);
    const credentials = await this.credentialsFor(servers, context);
    await Promise.allSettled(
      servers.map(async (server, index) => {
        const credential = credentials[index]!;
        if (credential.status === 'fulfilled') await this.upstreams.endSession(server, credential.value.headers, upstreamSessions[server.id]!);
      }),
    );
  }

  private initialize(message: Request, virtualServer: VirtualServerTarget): unknown {
    return {
      protocolVersion: negotiatedVersion(message),
      capabilities: { tools: { listChanged: false } },
      serverInfo: { name: virtualServer.slug, title: virtualServer.name, version: '1.0.0' },
    };
  }

  /** The visible tools of every upstream, under their virtual names; an upstream failing fails the listing (it names the upstream). */
  private async listTools(context: Context): Promise<unknown[]> {
    const visible = context.virtualServer.tools.filter((tool) => isToolVisible(context.decision, tool.name));
    const servers = this.visibleUpstreams(context);
    const credentials = await this.credentialsFor(servers, context);
    // Every upstream still needing consent is named in one answer; any other failure fails the listing as before.
    const consents = consentsIn(credentials);
    if (consents.length > 0) throw ConsentRequiredError.merge(consents);
    const listed = await Promise.all(
      servers.map(async (server, index) => {
        const credential = credentials[index]!;
        if (credential.status === 'rejected') throw credential.reason;
        return { server, tools: await this.upstreams.listTools(server, credential.value.headers, context.upstreamSessions[server.id]) };
      }),
    );
    return visible.flatMap((entry) => {
      const upstream = listed.find((l) => l.server.id === entry.server.id)?.tools.find((tool) => tool.name === entry.tool);
      if (!upstream) return [];
      return [{ ...upstream, name: entry.name, description: context.decision.descriptions[entry.name] ?? upstream.description }];
    });
  }

  /** The upstream and tool a call goes to, or null (audited) when it is unknown, hidden, denied, or the caller may not call. */
  private route(call: JsonRpcCall, context: Context): { server: ServerTarget; tool: string } | null {
    const entry = call.tool === null ? undefined : context.virtualServer.tools.find((tool) => tool.name === call.tool);
    const reason =
      roleRank(context.decision.role) < roleRank('user')
        ? `role ${context.decision.role ?? 'none'} may not call tools`
        : entry === undefined
          ? 'no such tool on the virtual server'
          : !isToolVisible(context.decision, entry.name)
            ? 'tool hidden, disabled or denied by policy'
            : null;
    if (reason !== null || entry === undefined) {
      this.audit.recordDenials({ calls: [call], principal: context.principal, server: context.virtualServer.slug, reason: reason ?? 'no such tool', traceId: context.traceId });
      return null;
    }
    return { server: entry.server, tool: entry.tool };
  }

  private record(call: JsonRpcCall, context: Context, credential: Pick<ReadyCredential, 'credentialKind' | 'credentialId'>, outcome: 'success' | 'error', reason: string | null, startedAt: number): void {
    this.audit.record({
      calls: [call],
      principal: context.principal,
      server: context.virtualServer.slug,
      credential,
      outcome,
      reason,
      latencyMs: Math.max(0, this.clock.nowMs() - startedAt),
      traceId: context.traceId,
    });
  }
}

/** The client's version when the SDK supports it, else the latest (the client then decides whether it can go on). */
function negotiatedVersion(initialize: Request): string {
  const requested = initialize.params['protocolVersion'];
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

function readRequests(body: unknown): { requests: Request[]; batch: boolean } {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : '');
  } catch {
    throw new InvalidMessageError('Invalid Request: the body is not JSON');
  }
  const batch = Array.isArray(value);
  const messages = (batch ? value : [value]) as unknown[];
  const requests = messages.flatMap((m) => {
    if (!isObject(m) || typeof m['method'] !== 'string' || !(typeof m['id'] === 'string' || typeof m['id'] === 'number')) return [];
    return [{ id: m['id'], method: m['method'], params: isObject(m['params']) ? m['params'] : {} }];
  });
  return { requests, batch };
}

function consentsIn(results: readonly PromiseSettledResult<unknown>[]): ConsentRequiredError[] {
  return results.flatMap((result) => (result.status === 'rejected' && result.reason instanceof ConsentRequiredError ? [result.reason] : []));
}

function describe(error: unknown): JsonRpcErrorObject {
  if (error instanceof McpError) return { code: error.code, message: error.message.slice(0, 500), data: undefined };
  if (error instanceof EdgeError) return error.jsonRpcError();
  return { code: INTERNAL_ERROR, message: 'Internal error', data: undefined };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
