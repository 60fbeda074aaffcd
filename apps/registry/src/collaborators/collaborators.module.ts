import { Module } from '@nestjs/common';
import { GroupCollaboratorController, ServerCollaboratorController, VirtualServerCollaboratorController } from './collaborator.controller';
import { CollaboratorService } from './collaborator.service';

@Module({
  controllers: [ServerCollaboratorController, GroupCollaboratorController, VirtualServerCollaboratorController],
  providers: [CollaboratorService],
})
export class CollaboratorsModule {}
