import { Module } from '@nestjs/common';
import { RolloutDriver } from './rollout-driver.service.js';
import { RolloutsController } from './rollouts.controller.js';
import { RolloutsService } from './rollouts.service.js';

@Module({
  controllers: [RolloutsController],
  providers: [RolloutsService, RolloutDriver],
  exports: [RolloutsService],
})
export class RolloutsModule {}
