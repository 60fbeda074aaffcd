import { SetMetadata } from '@nestjs/common';
import type { AuditPermission } from './audit-permissions';

export const REQUIRED_PERMISSION = 'portcullis:audit:required-permission';

/** Declares the permission a route needs; {@link AccessGuard} denies routes that declare none. */
export const RequirePermission = (permission: AuditPermission) => SetMetadata(REQUIRED_PERMISSION, permission);
