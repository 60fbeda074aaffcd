import { Body, Controller, Delete, HttpCode, Param, ParseUUIDPipe, Put } from '@nestjs/common';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { PutUserCredentialBody, PutUserCredentialBodySchema, UserCredentialView } from './dto/user-credential.dto';
import { ServerService } from './server.service';

/**
 * Managers set a user's own values on a `per_user` header server for them
 * (DESIGN §9): the values go to the vault and are never shown again.
 */
@Controller('api/v1/servers/:slug/credentials')
export class ServerCredentialController {
  constructor(private readonly servers: ServerService) {}

  @Put(':userId')
  @RequirePermission('server:manage')
  put(
    @Param('slug') slug: string,
    @Param('userId', new ParseUUIDPipe()) userId: string,
    @Body(new ZodValidationPipe(PutUserCredentialBodySchema, 'credential')) body: PutUserCredentialBody,
  ): Promise<UserCredentialView> {
    return this.servers.setUserValues(slug, userId, body.values);
  }

  @Delete(':userId')
  @HttpCode(204)
  @RequirePermission('server:manage')
  async remove(@Param('slug') slug: string, @Param('userId', new ParseUUIDPipe()) userId: string): Promise<void> {
    await this.servers.deleteUserValues(slug, userId);
  }
}
