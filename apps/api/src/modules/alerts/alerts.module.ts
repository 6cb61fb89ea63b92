import { Module } from '@nestjs/common';
import { MaintenanceModule } from '../maintenance/maintenance.module.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { AlertEngine } from './alert-engine.service.js';
import { AlertsController } from './alerts.controller.js';
import { AlertsService } from './alerts.service.js';
import { RulesService } from './rules.service.js';

/** Alert rules, streaming evaluation, alert lifecycle (ack, resolve, escalation). */
@Module({
  imports: [NotificationsModule, MaintenanceModule],
  controllers: [AlertsController],
  providers: [RulesService, AlertEngine, AlertsService],
  exports: [AlertsService],
})
export class AlertsModule {}
