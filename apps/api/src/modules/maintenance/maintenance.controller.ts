import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  AgentMaintenanceSchema,
  CreateMaintenanceWindowSchema,
  PageQuerySchema,
  UpdateMaintenanceWindowSchema,
  type AgentMaintenance,
  type CreateMaintenanceWindow,
  type MaintenanceWindow,
  type Page,
  type PageQuery,
  type UpdateMaintenanceWindow,
} from '@agent-monitor/contracts';
import { Access, Ctx, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe, uuidParam } from '../../common/zod-validation.pipe.js';
import { MaintenanceService } from './maintenance.service.js';

@ApiTags('maintenance-windows')
@Controller('maintenance-windows')
export class MaintenanceController {
  constructor(private readonly maintenance: MaintenanceService) {}

  @Post()
  @Access({ role: 'operator' })
  @ApiZodBody(CreateMaintenanceWindowSchema)
  create(
    @Body(new ZodValidationPipe(CreateMaintenanceWindowSchema)) body: CreateMaintenanceWindow,
    @Ctx() ctx: RequestContext,
  ): Promise<MaintenanceWindow> {
    return this.maintenance.create(body, ctx);
  }

  @Get()
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(PageQuerySchema)
  list(
    @Query(new ZodValidationPipe(PageQuerySchema)) q: PageQuery,
  ): Promise<Page<MaintenanceWindow>> {
    return this.maintenance.list(q);
  }

  @Get(':id')
  @Access({ role: 'viewer', scopes: ['read'] })
  get(@Param('id', uuidParam) id: string): Promise<MaintenanceWindow> {
    return this.maintenance.get(id);
  }

  @Patch(':id')
  @Access({ role: 'operator' })
  @ApiZodBody(UpdateMaintenanceWindowSchema)
  update(
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(UpdateMaintenanceWindowSchema)) body: UpdateMaintenanceWindow,
    @Ctx() ctx: RequestContext,
  ): Promise<MaintenanceWindow> {
    return this.maintenance.update(id, body, ctx);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access({ role: 'operator' })
  async remove(@Param('id', uuidParam) id: string, @Ctx() ctx: RequestContext): Promise<void> {
    await this.maintenance.remove(id, ctx);
  }
}

/** An agent (with its own key) or a CI job declares maintenance for the agent. */
@ApiTags('maintenance-windows')
@Controller('agents')
export class AgentMaintenanceController {
  constructor(private readonly maintenance: MaintenanceService) {}

  @Post(':id/maintenance')
  @HttpCode(200)
  @Access({ role: 'operator', scopes: ['agents:write'], agentParam: 'id' })
  @ApiZodBody(AgentMaintenanceSchema)
  declare(
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(AgentMaintenanceSchema)) body: AgentMaintenance,
    @Ctx() ctx: RequestContext,
  ): Promise<MaintenanceWindow | null> {
    return this.maintenance.agentMaintenance(id, body, ctx);
  }
}
