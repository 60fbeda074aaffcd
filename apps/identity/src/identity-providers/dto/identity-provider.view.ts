import type { IdentityProviderView } from '@portcullis/contracts';
import type { IdentityProviderEntity } from '../identity-provider.entity';

export function toIdentityProviderView(provider: IdentityProviderEntity): IdentityProviderView {
  return {
    ...provider.settings,
    browserLogin: provider.settings.browserLogin ?? null,
    id: provider.id,
    name: provider.name,
    createdAt: provider.createdAt.toISOString(),
    updatedAt: provider.updatedAt.toISOString(),
  };
}
