import { Module } from '@nestjs/common';
import { AgentMaintenanceController, MaintenanceController } from './maintenance.controller.js';
import { MaintenanceService } from './maintenance.service.js';

/** Maintenance windows: notifications held back while alerts keep evaluating. */
@Module({
  controllers: [MaintenanceController, AgentMaintenanceController],
  providers: [MaintenanceService],
  exports: [MaintenanceService],
})
export class MaintenanceModule {}
