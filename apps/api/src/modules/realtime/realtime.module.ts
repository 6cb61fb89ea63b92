import { Global, Module } from '@nestjs/common';
import { RealtimePublisher } from '../../common/realtime-publisher.js';
import { RealtimeService } from './realtime.service.js';

/** Provides RealtimePublisher to every domain (socket.io `/dashboard`, Redis fan-out). */
@Global()
@Module({
  providers: [RealtimeService, { provide: RealtimePublisher, useExisting: RealtimeService }],
  exports: [RealtimePublisher, RealtimeService],
})
export class RealtimeModule {}
