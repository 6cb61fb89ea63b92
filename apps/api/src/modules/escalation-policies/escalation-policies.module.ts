import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { EscalationPoliciesController } from './escalation-policies.controller.js';
import { EscalationPoliciesService } from './escalation-policies.service.js';

/** Reusable escalation policies (ordered steps) that alert rules reference by id. */
@Module({
  imports: [NotificationsModule],
  controllers: [EscalationPoliciesController],
  providers: [EscalationPoliciesService],
  exports: [EscalationPoliciesService],
})
export class EscalationPoliciesModule {}
