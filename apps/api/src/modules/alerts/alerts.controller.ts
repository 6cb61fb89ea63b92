import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  AckAlertSchema,
  AlertTestSchema,
  CreateAlertRuleSchema,
  ListAlertRulesQuerySchema,
  ListAlertsQuerySchema,
  ResolveAlertSchema,
  UpdateAlertRuleSchema,
  type AckAlert,
  type AlertTest,
  type AlertTestResult,
  type AlertNotificationPayload,
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
import { notFound } from '../../common/errors.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe, uuidParam } from '../../common/zod-validation.pipe.js';
import { ChannelsService } from '../notifications/channels.service.js';
import { DeliveryService } from '../notifications/delivery.service.js';
import { sendNotification } from '../notifications/senders.js';
import { AlertsService } from './alerts.service.js';
import { BacktestService } from './backtest.service.js';
import { RulesService } from './rules.service.js';

@ApiTags('alerts')
@Controller('alerts')
export class AlertsController {
  constructor(
    private readonly rules: RulesService,
    private readonly alerts: AlertsService,
    private readonly backtest: BacktestService,
    private readonly channels: ChannelsService,
    private readonly delivery: DeliveryService,
  ) {}

  /** Backtest a rule draft over stored history (≤ 7 days) and/or send a test notification. */
  @Post('test')
  @HttpCode(200)
  @Access({ role: 'operator' })
  @ApiZodBody(AlertTestSchema)
  async test(
    @Body(new ZodValidationPipe(AlertTestSchema)) body: AlertTest,
  ): Promise<AlertTestResult> {
    const out: AlertTestResult = {};
    if (body.rule) out.backtest = await this.backtest.run(body.rule, body.from, body.to);
    if (body.channelId) {
      const ch = await this.channels.open(body.channelId);
      if (!ch) throw notFound('Notification channel', body.channelId);
      const now = new Date().toISOString();
      const payload: AlertNotificationPayload = {
        dedupKey: `test:${ch.id}:${Date.now()}`,
        event: 'test',
        alerts: [
          {
            id: '00000000-0000-0000-0000-000000000000',
            ruleId: '00000000-0000-0000-0000-000000000000',
            ruleName: 'Test notification',
            agentId: null,
            agentName: null,
            severity: 'info',
            state: 'firing',
            summary: `Test notification from Agent Monitor to ${ch.name}`,
            value: null,
            threshold: null,
            labels: {},
            startedAt: now,
            firedAt: now,
            resolvedAt: null,
          },
        ],
        sentAt: now,
      };
      const r = await sendNotification(ch, payload, this.delivery.sendOptions);
      out.channel = {
        ok: r.ok,
        statusCode: r.statusCode,
        error: r.error,
        durationMs: r.durationMs,
      };
    }
    return out;
  }

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
  getRule(@Param('id', uuidParam) id: string): Promise<AlertRule> {
    return this.rules.get(id);
  }

  @Patch('rules/:id')
  @Access({ role: 'operator' })
  @ApiZodBody(UpdateAlertRuleSchema)
  updateRule(
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(UpdateAlertRuleSchema)) body: UpdateAlertRule,
    @Ctx() ctx: RequestContext,
  ): Promise<AlertRule> {
    return this.rules.update(id, body, ctx);
  }

  @Delete('rules/:id')
  @HttpCode(204)
  @Access({ role: 'operator' })
  async deleteRule(@Param('id', uuidParam) id: string, @Ctx() ctx: RequestContext): Promise<void> {
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
  get(@Param('id', uuidParam) id: string): Promise<AlertDetail> {
    return this.alerts.get(id);
  }

  @Post(':id/ack')
  @HttpCode(200)
  @Access({ role: 'operator' })
  @ApiZodBody(AckAlertSchema)
  ack(
    @Param('id', uuidParam) id: string,
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
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(ResolveAlertSchema)) body: ResolveAlert,
    @Ctx() ctx: RequestContext,
  ): Promise<AlertDetail> {
    return this.alerts.resolve(id, body, ctx);
  }
}
