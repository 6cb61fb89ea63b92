import { Module } from '@nestjs/common';
import { MaintenanceModule } from '../maintenance/maintenance.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { EscalationPoliciesModule } from '../escalation-policies/escalation-policies.module.js';
import { AlertEngine } from './alert-engine.service.js';
import { AlertsController } from './alerts.controller.js';
import { AlertsService } from './alerts.service.js';
import { BacktestService } from './backtest.service.js';
import { EscalationService } from './escalation.service.js';
import { RulesService } from './rules.service.js';

/** Alert rules, streaming evaluation, alert lifecycle (ack, resolve, escalation). */
@Module({
  imports: [NotificationsModule, MaintenanceModule, MetricsModule, EscalationPoliciesModule],
  controllers: [AlertsController],
  providers: [RulesService, AlertEngine, AlertsService, BacktestService, EscalationService],
  exports: [AlertsService],
})
export class AlertsModule {}
