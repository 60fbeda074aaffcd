import { SetMetadata } from '@nestjs/common';
import type { RegistryPermission } from './registry-permissions';

export const REQUIRED_PERMISSION = 'portcullis:registry:required-permission';

/** Declares the permission a route needs; {@link AccessGuard} refuses every route that declares none. */
export const RequirePermission = (permission: RegistryPermission) => SetMetadata(REQUIRED_PERMISSION, permission);
