import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DependencyUnavailableError, InvalidRequestError, VaultRefusedError } from '../errors';
import { escapeHtml, page, sendHtml } from '../html-page';
import { ConnectionsService } from './connections.service';

const MAX_FLOW_ID_LENGTH = 200;
/** Callback parameters and their longest accepted length (vault contract). */
const CALLBACK_LIMITS = { state: 500, code: 4096, error: 200, error_description: 1000, iss: 2048 } as const;

const UNKNOWN_FLOW = page('Link not valid', '<p>This consent link is unknown, already used or expired. Retry from your agent to get a new one.</p>');
const OTHER_USER = page('Not your link', '<p>This consent link was started by another user. Sign in as the user whose agent asked for it, or retry from your own agent.</p>');
const UNAVAILABLE = page('Try again later', '<p>The gateway cannot complete this right now. Try again in a moment.</p>');
const CALLBACK_FAILED = page('Connection failed', '<p>This consent could not be completed: the link is invalid, was already used, or has expired. Retry from your agent to get a new link.</p>');

/**
 * The browser side of upstream consent (DESIGN §6): `/connect/{flowId}` sends
 * the user to the provider, `/oauth/callback` brings them back. Plain pages:
 * no stack, no token, no flow secret.
 */
@Controller()
export class ConsentController {
  constructor(private readonly connections: ConnectionsService) {}

  @Get('connect/:flowId')
  async connect(@Param('flowId') flowId: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (flowId.length === 0 || flowId.length > MAX_FLOW_ID_LENGTH) return sendHtml(reply, 404, UNKNOWN_FLOW);
    let next;
    try {
      next = await this.connections.connect(flowId, request.headers.cookie);
    } catch (error) {
      if (error instanceof VaultRefusedError && error.httpStatus === 403) return sendHtml(reply, 403, OTHER_USER);
      if (error instanceof VaultRefusedError || error instanceof InvalidRequestError) return sendHtml(reply, 404, UNKNOWN_FLOW);
      if (error instanceof DependencyUnavailableError) return sendHtml(reply, 503, UNAVAILABLE);
      throw error;
    }
    await reply.status(302).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').header('location', next.url).send();
  }

  @Get('oauth/callback')
  async callback(@Query() query: Record<string, unknown>, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const params: Partial<Record<keyof typeof CALLBACK_LIMITS, string>> = {};
    for (const [name, limit] of Object.entries(CALLBACK_LIMITS) as [keyof typeof CALLBACK_LIMITS, number][]) {
      const value = query[name];
      if (typeof value !== 'string' || value.length === 0) continue;
      if (value.length > limit) return sendHtml(reply, 400, CALLBACK_FAILED);
      params[name] = value;
    }
    if (params.state === undefined) return sendHtml(reply, 400, CALLBACK_FAILED);
    let connected;
    try {
      connected = await this.connections.completeConsent(
        {
          state: params.state,
          ...(params.code !== undefined ? { code: params.code } : {}),
          ...(params.error !== undefined ? { error: params.error } : {}),
          ...(params.error_description !== undefined ? { errorDescription: params.error_description } : {}),
          ...(params.iss !== undefined ? { iss: params.iss } : {}),
        },
        request.headers.cookie,
      );
    } catch (error) {
      if (error instanceof DependencyUnavailableError) return sendHtml(reply, 503, UNAVAILABLE);
      if (!(error instanceof VaultRefusedError || error instanceof InvalidRequestError)) throw error;
      // Only an RFC 6749 error code is shown back, never the provider's free text (it came through the browser).
      const providerError = params.error !== undefined && /^[a-z_]{1,64}$/.test(params.error) ? params.error : null;
      return sendHtml(
        reply,
        400,
        providerError === null ? CALLBACK_FAILED : page('Connection failed', `<p>The provider did not grant access (${escapeHtml(providerError)}). Retry from your agent to try again.</p>`),
      );
    }
    await sendHtml(reply, 200, page('Connected', `<p>Connected ${escapeHtml(connected.serverSlug)}. You can close this window and retry.</p>`));
  }
}
