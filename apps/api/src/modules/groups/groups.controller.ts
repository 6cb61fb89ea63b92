import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CreateAgentGroupRequestSchema,
  GroupAgentsQuerySchema,
  ListAgentGroupsQuerySchema,
  UpdateAgentGroupRequestSchema,
  type Agent,
  type AgentGroup,
  type AgentGroupDetail,
  type CreateAgentGroupRequest,
  type GroupAgentsQuery,
  type ListAgentGroupsQuery,
  type Page,
  type UpdateAgentGroupRequest,
} from '@agent-monitor/contracts';
import { Access, Ctx, type AccessPolicy, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { GroupsService } from './groups.service.js';

const READ: AccessPolicy = { role: 'viewer', scopes: ['read'] };
const WRITE: AccessPolicy = { role: 'operator' };

@ApiTags('agent-groups')
@ApiBearerAuth()
@Controller('agent-groups')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Post()
  @Access(WRITE)
  @ApiOperation({ summary: 'Create a group (explicit agents and/or a tag selector)' })
  @ApiZodBody(CreateAgentGroupRequestSchema)
  create(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(CreateAgentGroupRequestSchema)) body: CreateAgentGroupRequest,
  ): Promise<AgentGroup> {
    return this.groups.create(ctx, body);
  }

  @Get()
  @Access(READ)
  @ApiOperation({ summary: 'Groups with member counts per status' })
  @ApiZodQuery(ListAgentGroupsQuerySchema)
  list(
    @Query(new ZodValidationPipe(ListAgentGroupsQuerySchema)) q: ListAgentGroupsQuery,
  ): Promise<Page<AgentGroup>> {
    return this.groups.list(q);
  }

  @Get(':id')
  @Access(READ)
  get(@Param('id') id: string): Promise<AgentGroupDetail> {
    return this.groups.get(id);
  }

  @Get(':id/agents')
  @Access(READ)
  @ApiOperation({ summary: 'Current members (explicit and by tag selector)' })
  @ApiZodQuery(GroupAgentsQuerySchema)
  agents(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(GroupAgentsQuerySchema)) q: GroupAgentsQuery,
  ): Promise<Page<Agent>> {
    return this.groups.members(id, q);
  }

  @Patch(':id')
  @Access(WRITE)
  @ApiZodBody(UpdateAgentGroupRequestSchema)
  update(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(UpdateAgentGroupRequestSchema)) body: UpdateAgentGroupRequest,
  ): Promise<AgentGroup> {
    return this.groups.update(ctx, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access(WRITE)
  async remove(@Ctx() ctx: RequestContext, @Param('id') id: string): Promise<void> {
    await this.groups.remove(ctx, id);
  }
}
