import { Module } from '@nestjs/common';
import { ChannelsService } from './channels.service.js';
import { DeliveryService } from './delivery.service.js';
import { NotificationChannelsController } from './notification-channels.controller.js';
import { PriorityDb } from './priority-db.js';

/** Notification channels, the durable outbox and its delivery workers. */
@Module({
  controllers: [NotificationChannelsController],
  providers: [ChannelsService, DeliveryService, PriorityDb],
  exports: [ChannelsService, DeliveryService, PriorityDb],
})
export class NotificationsModule {}
