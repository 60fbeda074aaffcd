import { Module } from '@nestjs/common';
import { IdentityProvidersModule } from '../identity-providers/identity-providers.module';
import { ExternalIdentityProvisioner } from './external-identity.provisioner';
import { JwksCache, OidcDiscoveryClient } from './jwks-cache';
import { JwtAuthenticator } from './jwt-authenticator.service';

/** Verification of identity-provider JWTs and provisioning of the users they stand for. */
@Module({
  imports: [IdentityProvidersModule],
  providers: [OidcDiscoveryClient, JwksCache, ExternalIdentityProvisioner, JwtAuthenticator],
  exports: [JwtAuthenticator, JwksCache, ExternalIdentityProvisioner],
})
export class JwtModule {}
