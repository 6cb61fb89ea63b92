import { Global, Module } from '@nestjs/common';
import { AgentStatusEvents } from './agent-status-events.js';
import { AgentsV1Controller } from './agents-v1.controller.js';
import { AgentsController } from './agents.controller.js';
import { AgentsService } from './agents.service.js';
import { HeartbeatWriter } from './heartbeat-writer.js';
import { LivenessSweeper } from './liveness-sweeper.service.js';

/**
 * The agent registry and liveness. Global: metrics, alerts and fleet use AgentsService
 * (`getById`, `findByIds`, `resolveRefs`, `list`) instead of the agents tables.
 */
@Global()
@Module({
  controllers: [AgentsController, AgentsV1Controller],
  providers: [AgentsService, AgentStatusEvents, LivenessSweeper, HeartbeatWriter],
  exports: [AgentsService, LivenessSweeper],
})
export class AgentsModule {}
