import { Module } from '@nestjs/common';
import { ToolPolicyController, ToolSettingController } from './tool.controller';
import { ToolService } from './tool.service';

@Module({
  controllers: [ToolSettingController, ToolPolicyController],
  providers: [ToolService],
})
export class ToolsModule {}
