import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import {
  AgentStatusHistoryQuerySchema,
  HeartbeatRequestSchema,
  ListAgentsQuerySchema,
  PutAgentConfigRequestSchema,
  RegisterAgentRequestSchema,
  UpdateAgentRequestSchema,
  type AgentConfigResponse,
  type AgentDetail,
  type AgentList,
  type AgentStatusHistoryEntry,
  type AgentStatusHistoryQuery,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ListAgentsQuery,
  type Page,
  type PutAgentConfigRequest,
  type RegisterAgentInput,
  type RegisterAgentResponse,
  type UpdateAgentInput,
} from '@agent-monitor/contracts';
import { Access, Ctx, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { AuditExempt } from '../audit/audit.interceptor.js';
import { AgentsService } from './agents.service.js';

@ApiTags('agents')
@ApiBearerAuth()
@ApiSecurity('api-key')
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Post('register')
  @ApiOperation({
    summary: 'Register an agent (same name + host again → same id, fresh agentKey)',
  })
  @Access({ role: 'operator', scopes: ['agents:register'] })
  @ApiZodBody(RegisterAgentRequestSchema)
  register(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(RegisterAgentRequestSchema)) body: RegisterAgentInput,
  ): Promise<RegisterAgentResponse> {
    return this.agents.register(ctx, body);
  }

  @Post(':id/heartbeat')
  @HttpCode(200)
  @ApiOperation({ summary: "Renew the agent's liveness lease and report its state" })
  @Access({ scopes: ['agents:write', 'metrics:write'], agentParam: 'id' })
  @AuditExempt('heartbeats are telemetry; status changes are kept in agent_status_history')
  @ApiZodBody(HeartbeatRequestSchema)
  heartbeat(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(HeartbeatRequestSchema)) body: HeartbeatRequest,
  ): Promise<HeartbeatResponse> {
    return this.agents.heartbeat(id, body);
  }

  @Get()
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(ListAgentsQuerySchema)
  list(
    @Query(new ZodValidationPipe(ListAgentsQuerySchema)) q: ListAgentsQuery,
  ): Promise<AgentList> {
    return this.agents.list(q);
  }

  @Get(':id')
  @Access({ role: 'viewer', scopes: ['read', 'agents:write'], agentParam: 'id' })
  get(@Param('id') id: string): Promise<AgentDetail> {
    return this.agents.getById(id);
  }

  @Get(':id/status-history')
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(AgentStatusHistoryQuerySchema)
  history(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(AgentStatusHistoryQuerySchema)) q: AgentStatusHistoryQuery,
  ): Promise<Page<AgentStatusHistoryEntry>> {
    return this.agents.statusHistory(id, q);
  }

  @Patch(':id')
  @Access({ role: 'operator' })
  @ApiZodBody(UpdateAgentRequestSchema)
  update(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(UpdateAgentRequestSchema)) body: UpdateAgentInput,
  ): Promise<AgentDetail> {
    return this.agents.update(ctx, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access({ role: 'operator' })
  async remove(@Ctx() ctx: RequestContext, @Param('id') id: string): Promise<void> {
    await this.agents.remove(ctx, id);
  }

  @Get(':id/config')
  @Access({ role: 'operator', scopes: ['agents:write'], agentParam: 'id' })
  getConfig(@Param('id') id: string): Promise<AgentConfigResponse> {
    return this.agents.getConfig(id);
  }

  @Put(':id/config')
  @ApiOperation({
    summary: 'Replace the config; bumps its version and pushes it with the next heartbeat',
  })
  @Access({ role: 'operator' })
  @ApiZodBody(PutAgentConfigRequestSchema)
  putConfig(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(PutAgentConfigRequestSchema)) body: PutAgentConfigRequest,
  ): Promise<AgentConfigResponse> {
    return this.agents.putConfig(ctx, id, body);
  }
}
