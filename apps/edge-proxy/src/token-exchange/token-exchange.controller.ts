import { Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { EdgeTokenExchangeService, JWKS_CACHE_MS, TokenServiceUnavailableError } from './token-exchange.service';
import { parseTokenExchangeForm, TokenRequestError } from './token-request';

const STATUS_OF: Record<TokenRequestError['error'], number> = {
  invalid_request: 400,
  invalid_client: 401,
  unauthorized_client: 400,
  invalid_grant: 400,
  unsupported_grant_type: 400,
  invalid_target: 400,
};

/** RFC 8693 token exchange and the public keys its JWTs are signed with. Public routes: the form carries its own credentials. */
@Controller()
export class TokenExchangeController {
  private readonly publicUrl: string;

  constructor(
    private readonly exchange: EdgeTokenExchangeService,
    @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions,
  ) {
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
  }

  @Post('oauth/token')
  @HttpCode(200)
  async token(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    try {
      let form;
      try {
        form = parseTokenExchangeForm(request.headers['content-type'], request.body, this.publicUrl);
      } catch (error) {
        if (error instanceof TokenRequestError) this.exchange.refused(error.error, error.description);
        throw error;
      }
      await reply.status(200).send(await this.exchange.exchange(form));
    } catch (error) {
      if (error instanceof TokenRequestError) {
        await reply.status(STATUS_OF[error.error]).send({ error: error.error, error_description: error.description });
        return;
      }
      if (error instanceof TokenServiceUnavailableError) {
        await reply.status(503).send({ error: 'temporarily_unavailable', error_description: 'try again later' });
        return;
      }
      throw error;
    }
  }

  @Get('.well-known/jwks.json')
  async jwks(@Res() reply: FastifyReply): Promise<void> {
    try {
      const jwks = await this.exchange.jwks();
      await reply.status(200).header('cache-control', `public, max-age=${JWKS_CACHE_MS / 1000}`).send(jwks);
    } catch (error) {
      if (error instanceof TokenServiceUnavailableError) {
        await reply.status(503).header('cache-control', 'no-store').send({ error: 'temporarily_unavailable' });
        return;
      }
      throw error;
    }
  }
}
