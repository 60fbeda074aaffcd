import { Module } from '@nestjs/common';
import { GroupCollaboratorController, ServerCollaboratorController } from './collaborator.controller';
import { CollaboratorService } from './collaborator.service';

@Module({
  controllers: [ServerCollaboratorController, GroupCollaboratorController],
  providers: [CollaboratorService],
})
export class CollaboratorsModule {}
