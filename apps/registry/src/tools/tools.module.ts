import { Module } from '@nestjs/common';
import { ToolPolicyController, ToolSettingController, VirtualServerPolicyController } from './tool.controller';
import { ToolService } from './tool.service';

@Module({
  controllers: [ToolSettingController, ToolPolicyController, VirtualServerPolicyController],
  providers: [ToolService],
})
export class ToolsModule {}
