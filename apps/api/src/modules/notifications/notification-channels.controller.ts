import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  CreateChannelSchema,
  ListDeliveriesQuerySchema,
  PageQuerySchema,
  UpdateChannelSchema,
  type AlertNotificationPayload,
  type ChannelTestResult,
  type CreateChannel,
  type Delivery,
  type ListDeliveriesQuery,
  type NotificationChannel,
  type Page,
  type PageQuery,
  type UpdateChannel,
} from '@agent-monitor/contracts';
import { Access, Ctx, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { notFound } from '../../common/errors.js';
import { ZodValidationPipe, uuidParam } from '../../common/zod-validation.pipe.js';

import { ChannelsService } from './channels.service.js';
import { DeliveryService } from './delivery.service.js';
import { sendNotification } from './senders.js';

@ApiTags('notification-channels')
@Controller('notification-channels')
export class NotificationChannelsController {
  constructor(
    private readonly channels: ChannelsService,
    private readonly delivery: DeliveryService,
  ) {}

  @Post()
  @Access({ role: 'operator' })
  @ApiZodBody(CreateChannelSchema)
  create(
    @Body(new ZodValidationPipe(CreateChannelSchema)) body: CreateChannel,
    @Ctx() ctx: RequestContext,
  ): Promise<NotificationChannel> {
    return this.channels.create(body, ctx);
  }

  @Get()
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(PageQuerySchema)
  list(
    @Query(new ZodValidationPipe(PageQuerySchema)) q: PageQuery,
  ): Promise<Page<NotificationChannel>> {
    return this.channels.list(q);
  }

  @Get(':id')
  @Access({ role: 'viewer', scopes: ['read'] })
  get(@Param('id', uuidParam) id: string): Promise<NotificationChannel> {
    return this.channels.get(id);
  }

  @Patch(':id')
  @Access({ role: 'operator' })
  @ApiZodBody(UpdateChannelSchema)
  update(
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(UpdateChannelSchema)) body: UpdateChannel,
    @Ctx() ctx: RequestContext,
  ): Promise<NotificationChannel> {
    return this.channels.update(id, body, ctx);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access({ role: 'operator' })
  async remove(@Param('id', uuidParam) id: string, @Ctx() ctx: RequestContext): Promise<void> {
    await this.channels.remove(id, ctx);
  }

  /** Sends a sample notification now (not through the outbox) and reports the receiver's answer. */
  @Post(':id/test')
  @HttpCode(200)
  @Access({ role: 'operator' })
  async test(@Param('id', uuidParam) id: string): Promise<ChannelTestResult> {
    const ch = await this.channels.open(id);
    if (!ch) throw notFound('Notification channel', id);
    const now = new Date().toISOString();
    const payload: AlertNotificationPayload = {
      dedupKey: `test:${id}:${Date.now()}`,
      event: 'test',
      alerts: [
        {
          id: '00000000-0000-0000-0000-000000000000',
          ruleId: '00000000-0000-0000-0000-000000000000',
          ruleName: 'Test notification',
          agentId: null,
          agentName: 'test-agent',
          severity: 'info',
          state: 'firing',
          summary: `Test notification from Agent Monitor to channel ${ch.name}`,
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
    return { ok: r.ok, statusCode: r.statusCode, error: r.error, durationMs: r.durationMs };
  }

  @Get(':id/deliveries')
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(ListDeliveriesQuerySchema)
  async deliveries(
    @Param('id', uuidParam) id: string,
    @Query(new ZodValidationPipe(ListDeliveriesQuerySchema)) q: ListDeliveriesQuery,
  ): Promise<Page<Delivery>> {
    await this.channels.get(id);
    return this.delivery.list({ ...q, channelId: id });
  }
}
