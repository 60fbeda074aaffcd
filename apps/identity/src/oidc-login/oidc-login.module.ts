import { Module } from '@nestjs/common';
import { BrowserSessionsModule } from '../browser-sessions/browser-sessions.module';
import { IdentityProvidersModule } from '../identity-providers/identity-providers.module';
import { JwtModule } from '../jwt/jwt.module';
import { LoginFlowRepository } from './login-flow.repository';
import { OidcLoginHandler } from './oidc-login.handler';
import { OIDC_HTTP_CLIENT, OidcLoginService } from './oidc-login.service';

/** OIDC browser login (authorization code + PKCE) at the one provider with `browserLogin` set. */
@Module({
  imports: [IdentityProvidersModule, JwtModule, BrowserSessionsModule],
  providers: [LoginFlowRepository, OidcLoginService, OidcLoginHandler, { provide: OIDC_HTTP_CLIENT, useValue: (url: string, init: RequestInit) => fetch(url, init) }],
})
export class OidcLoginModule {}
