import { Controller, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Clock } from '../clock';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { UnauthenticatedError } from '../errors';
import { escapeHtml, page, sendHtml } from '../html-page';
import { BrowserLoginService } from './browser-login.service';
import { clearedSessionCookie, isSameOrigin, readSessionCookie, safeReturnTo, sessionCookie, SessionCookiePolicy, sessionCookiePolicy } from './session-cookie';


function loginForm(returnTo: string, error?: string): string {
  return page(
    'Sign in',
    `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}<form method="post" action="/login">` +
      `<input type="hidden" name="return_to" value="${escapeHtml(returnTo)}">` +
      `<label>Your API key <input type="password" name="api_key" autocomplete="off" required></label> <button type="submit">Sign in</button></form>`,
  );
}

/**
 * Browser sign-in for the gateway's own pages: OIDC (authorization code +
 * PKCE, run by identity) when an identity provider has browser login, else the
 * all-in-one login form that takes a user API key (`browserLoginApiKeyForm`),
 * else `/login` answers 404.
 */
@Controller()
export class BrowserLoginController {
  private readonly publicUrl: string;
  private readonly cookie: SessionCookiePolicy;
  private readonly apiKeyForm: boolean;

  constructor(
    private readonly login: BrowserLoginService,
    private readonly clock: Clock,
    @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions,
  ) {
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.cookie = sessionCookiePolicy(this.publicUrl);
    this.apiKeyForm = options.browserLoginApiKeyForm === true;
  }

  @Get('login')
  async form(@Query('return_to') returnTo: unknown, @Res() reply: FastifyReply): Promise<void> {
    const oidc = await this.login.startOidc(safeReturnTo(returnTo));
    if (oidc.available) {
      await reply.status(302).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').header('location', oidc.authorizationUrl).send();
      return;
    }
    if (!this.apiKeyForm) return this.notConfigured(reply);
    await this.html(reply, 200, loginForm(safeReturnTo(returnTo)));
  }

  /** The IdP's redirect back: identity checks state, code and ID token; any failure is only "sign-in failed". */
  @Get('login/callback')
  async callback(@Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const text = (name: string): string | undefined => (typeof query[name] === 'string' && query[name].length > 0 ? query[name] : undefined);
    const state = text('state');
    const code = text('code');
    const iss = text('iss');
    const failed = () => this.html(reply, 400, page('Sign-in failed', '<p>Sign-in failed. <a href="/login">Try again</a>.</p>'));
    if (!state || !code || state.length > 500 || code.length > 4000 || (iss !== undefined && iss.length > 2000)) return failed();
    let session;
    try {
      session = await this.login.completeOidc({ state, code, ...(iss !== undefined ? { iss } : {}) });
    } catch {
      return failed();
    }
    const maxAge = (Date.parse(session.expiresAt) - this.clock.nowMs()) / 1000;
    await reply
      .status(302)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('set-cookie', sessionCookie(this.cookie, session.sessionToken, maxAge))
      .header('location', safeReturnTo(session.returnTo))
      .send();
  }

  @Post('login')
  async submit(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.apiKeyForm) return this.notConfigured(reply);
    if (!this.sameOrigin(request)) return this.html(reply, 403, page('Sign in refused', '<p>This form must be sent from the gateway’s own login page.</p>'));
    const form = this.form_(request);
    const returnTo = safeReturnTo(form.get('return_to'));
    const apiKey = form.get('api_key') ?? '';
    if (apiKey.length === 0 || apiKey.length > 8192) return this.html(reply, 401, loginForm(returnTo, 'That API key was not accepted.'));
    let session;
    try {
      session = await this.login.loginWithApiKey(apiKey);
    } catch (error) {
      if (error instanceof UnauthenticatedError) return this.html(reply, 401, loginForm(returnTo, 'That API key was not accepted.'));
      throw error;
    }
    const maxAge = (Date.parse(session.expiresAt) - this.clock.nowMs()) / 1000;
    await reply.status(303).header('cache-control', 'no-store').header('set-cookie', sessionCookie(this.cookie, session.sessionToken, maxAge)).header('location', returnTo).send();
  }

  @Get('logout')
  async confirmLogout(@Res() reply: FastifyReply): Promise<void> {
    await this.html(reply, 200, page('Sign out', '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'));
  }

  @Post('logout')
  async logout(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.sameOrigin(request)) return this.html(reply, 403, page('Sign out refused', '<p>Sign out from the gateway’s own page.</p>'));
    const token = readSessionCookie(this.cookie, request.headers.cookie);
    if (token !== null) await this.login.logout(token);
    void reply.header('set-cookie', clearedSessionCookie(this.cookie));
    await this.html(reply, 200, page('Signed out', '<p>You are signed out.</p>'));
  }

  /** The signed-in user: proves the cookie reaches a principal. */
  @Get('me')
  async me(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    void reply.header('cache-control', 'no-store');
    const principal = await this.login.signedInPrincipal(request.headers.cookie);
    if (principal === null) {
      await reply.status(401).send({ error: { code: 'unauthenticated', message: 'sign in at /login' } });
      return;
    }
    await reply.status(200).send({ id: principal.id, email: principal.email ?? null, teams: principal.teams });
  }

  private sameOrigin(request: FastifyRequest): boolean {
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    return isSameOrigin(this.publicUrl, header('origin'), header('referer'));
  }

  private form_(request: FastifyRequest): URLSearchParams {
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/x-www-form-urlencoded\s*(;.*)?$/i.test(type)) return new URLSearchParams();
    return new URLSearchParams(typeof request.body === 'string' ? request.body : '');
  }

  private async notConfigured(reply: FastifyReply): Promise<void> {
    await this.html(reply, 404, page('Sign-in not available', '<p>Browser sign-in is not configured on this gateway.</p>'));
  }

  private html(reply: FastifyReply, status: number, body: string): Promise<void> {
    return sendHtml(reply, status, body);
  }
}
