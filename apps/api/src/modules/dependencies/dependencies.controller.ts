import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  AddDependencyRequestSchema,
  type AddDependencyRequest,
  type AgentDependencies,
  type DependencyGraph,
} from '@agent-monitor/contracts';
import { Access, Ctx, type AccessPolicy, type RequestContext } from '../../common/access.js';
import { ApiZodBody } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { DependenciesService } from './dependencies.service.js';

const READ: AccessPolicy = { role: 'viewer', scopes: ['read'] };
const WRITE: AccessPolicy = { role: 'operator' };

@ApiTags('dependencies')
@ApiBearerAuth()
@Controller()
export class DependenciesController {
  constructor(private readonly deps: DependenciesService) {}

  @Get('agents/:id/dependencies')
  @Access(READ)
  @ApiOperation({ summary: 'What the agent depends on, and what depends on it' })
  get(@Param('id') id: string): Promise<AgentDependencies> {
    return this.deps.get(id);
  }

  @Post('agents/:id/dependencies')
  @Access(WRITE)
  @ApiOperation({ summary: 'Record that the agent depends on another; cycles are refused (400)' })
  @ApiZodBody(AddDependencyRequestSchema)
  add(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(AddDependencyRequestSchema)) body: AddDependencyRequest,
  ): Promise<AgentDependencies> {
    return this.deps.add(ctx, id, body.dependsOn.toLowerCase());
  }

  @Delete('agents/:id/dependencies/:dependsOn')
  @HttpCode(204)
  @Access(WRITE)
  async remove(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Param('dependsOn') dependsOn: string,
  ): Promise<void> {
    await this.deps.remove(ctx, id, dependsOn);
  }

  @Get('dependencies')
  @Access(READ)
  @ApiOperation({ summary: 'The dependency map: agents with at least one edge, and the edges' })
  graph(): Promise<DependencyGraph> {
    return this.deps.graph();
  }
}
