import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  AckAlertSchema,
  CreateAlertRuleSchema,
  ListAlertRulesQuerySchema,
  ListAlertsQuerySchema,
  ResolveAlertSchema,
  UpdateAlertRuleSchema,
  type AckAlert,
  type AlertDetail,
  type AlertInstance,
  type AlertRule,
  type CreateAlertRule,
  type ListAlertRulesQuery,
  type ListAlertsQuery,
  type Page,
  type ResolveAlert,
  type UpdateAlertRule,
} from '@agent-monitor/contracts';
import { Access, Ctx, type RequestContext } from '../../common/access.js';
import { badRequest } from '../../common/errors.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { AlertsService } from './alerts.service.js';
import { RulesService } from './rules.service.js';

const uuid = new ParseUUIDPipe({ exceptionFactory: () => badRequest('id: must be a UUID') });

@ApiTags('alerts')
@Controller('alerts')
export class AlertsController {
  constructor(
    private readonly rules: RulesService,
    private readonly alerts: AlertsService,
  ) {}

  // ------------------------------------------------------------ rules

  @Post('rules')
  @Access({ role: 'operator' })
  @ApiZodBody(CreateAlertRuleSchema)
  createRule(
    @Body(new ZodValidationPipe(CreateAlertRuleSchema)) body: CreateAlertRule,
    @Ctx() ctx: RequestContext,
  ): Promise<AlertRule> {
    return this.rules.create(body, ctx);
  }

  @Get('rules')
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(ListAlertRulesQuerySchema)
  listRules(
    @Query(new ZodValidationPipe(ListAlertRulesQuerySchema)) q: ListAlertRulesQuery,
  ): Promise<Page<AlertRule>> {
    return this.rules.list(q);
  }

  @Get('rules/:id')
  @Access({ role: 'viewer', scopes: ['read'] })
  getRule(@Param('id', uuid) id: string): Promise<AlertRule> {
    return this.rules.get(id);
  }

  @Patch('rules/:id')
  @Access({ role: 'operator' })
  @ApiZodBody(UpdateAlertRuleSchema)
  updateRule(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(UpdateAlertRuleSchema)) body: UpdateAlertRule,
    @Ctx() ctx: RequestContext,
  ): Promise<AlertRule> {
    return this.rules.update(id, body, ctx);
  }

  @Delete('rules/:id')
  @HttpCode(204)
  @Access({ role: 'operator' })
  async deleteRule(@Param('id', uuid) id: string, @Ctx() ctx: RequestContext): Promise<void> {
    await this.rules.remove(id, ctx);
  }

  // ------------------------------------------------------------ alerts

  @Get('active')
  @Access({ role: 'viewer', scopes: ['read'] })
  active(): Promise<AlertInstance[]> {
    return this.alerts.active();
  }

  @Get()
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(ListAlertsQuerySchema)
  list(
    @Query(new ZodValidationPipe(ListAlertsQuerySchema)) q: ListAlertsQuery,
  ): Promise<Page<AlertInstance>> {
    return this.alerts.list(q);
  }

  @Get(':id')
  @Access({ role: 'viewer', scopes: ['read'] })
  get(@Param('id', uuid) id: string): Promise<AlertDetail> {
    return this.alerts.get(id);
  }

  @Post(':id/ack')
  @HttpCode(200)
  @Access({ role: 'operator' })
  @ApiZodBody(AckAlertSchema)
  ack(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(AckAlertSchema)) body: AckAlert,
    @Ctx() ctx: RequestContext,
  ): Promise<AlertDetail> {
    return this.alerts.ack(id, body, ctx);
  }

  @Post(':id/resolve')
  @HttpCode(200)
  @Access({ role: 'operator' })
  @ApiZodBody(ResolveAlertSchema)
  resolve(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(ResolveAlertSchema)) body: ResolveAlert,
    @Ctx() ctx: RequestContext,
  ): Promise<AlertDetail> {
    return this.alerts.resolve(id, body, ctx);
  }
}
