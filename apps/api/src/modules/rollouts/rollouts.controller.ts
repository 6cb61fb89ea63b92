import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ListRolloutsQuerySchema,
  PutGroupConfigRequestSchema,
  type GroupConfig,
  type ListRolloutsQuery,
  type Page,
  type PutGroupConfigInput,
  type PutGroupConfigResponse,
  type Rollout,
} from '@agent-monitor/contracts';
import { Access, Ctx, type AccessPolicy, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { RolloutsService } from './rollouts.service.js';

const READ: AccessPolicy = { role: 'viewer', scopes: ['read'] };
const WRITE: AccessPolicy = { role: 'operator' };

@ApiTags('rollouts')
@ApiBearerAuth()
@Controller()
export class RolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Put('agent-groups/:id/config')
  @HttpCode(201)
  @Access(WRITE)
  @ApiOperation({
    summary:
      'New version of the group config, rolled out to the members at once or in stages ' +
      '(canary %, batch size, pause); unhealthy batches roll everything back',
  })
  @ApiZodBody(PutGroupConfigRequestSchema)
  putConfig(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(PutGroupConfigRequestSchema)) body: PutGroupConfigInput,
  ): Promise<PutGroupConfigResponse> {
    return this.rollouts.putGroupConfig(ctx, id, body);
  }

  @Get('agent-groups/:id/config')
  @Access(READ)
  @ApiOperation({ summary: 'The current group config version with its diff to the previous' })
  getConfig(@Param('id') id: string): Promise<GroupConfig> {
    return this.rollouts.getGroupConfig(id);
  }

  @Get('rollouts')
  @Access(READ)
  @ApiZodQuery(ListRolloutsQuerySchema)
  list(
    @Query(new ZodValidationPipe(ListRolloutsQuerySchema)) q: ListRolloutsQuery,
  ): Promise<Page<Rollout>> {
    return this.rollouts.list(q);
  }

  @Get('rollouts/:id')
  @Access(READ)
  get(@Param('id') id: string): Promise<Rollout> {
    return this.rollouts.get(id);
  }

  @Post('rollouts/:id/pause')
  @HttpCode(200)
  @Access(WRITE)
  pause(@Ctx() ctx: RequestContext, @Param('id') id: string): Promise<Rollout> {
    return this.rollouts.pause(ctx, id);
  }

  @Post('rollouts/:id/resume')
  @HttpCode(200)
  @Access(WRITE)
  resume(@Ctx() ctx: RequestContext, @Param('id') id: string): Promise<Rollout> {
    return this.rollouts.resume(ctx, id);
  }

  @Post('rollouts/:id/abort')
  @HttpCode(200)
  @Access(WRITE)
  @ApiOperation({
    summary: 'Stop the rollout and restore every changed agent to its previous config',
  })
  abort(@Ctx() ctx: RequestContext, @Param('id') id: string): Promise<Rollout> {
    return this.rollouts.abort(ctx, id);
  }
}
