import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import {
  AggregateQuerySchema,
  HistoricalQuerySchema,
  LineProtocolQuerySchema,
  MetricsBatchSchema,
  SubmitMetricsSchema,
  TIMERANGES,
  type AgentSeriesList,
  type AggregateQuery,
  type AggregateResult,
  type HistoricalQuery,
  type HistoricalSeries,
  type IngestResult,
  type LineProtocolQuery,
  type SubmitMetrics,
  type Timerange,
} from '@agent-monitor/contracts';
import { Access, CurrentPrincipal, type Principal } from '../../common/access.js';
import { badRequest } from '../../common/errors.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { AuditExempt } from '../audit/audit.interceptor.js';
import { IngestGate } from '../rate-limit/ingest-gate.service.js';
import { MetricsIngestService } from './metrics-ingest.service.js';
import { MetricsQueryService } from './metrics-query.service.js';

/** 10 MiB: the documented ceiling of one ingest request. */
export const INGEST_BODY_LIMIT = 10 * 1024 * 1024;

const NAMES =
  'Query names: `cpu_usage` (measurement `agent_metrics`), `measurement.field` otherwise, labels in ' +
  'braces sorted by key: `ai_metrics.inference_time{model=gpt4}`.';

@ApiTags('metrics')
@ApiBearerAuth()
@ApiSecurity('api-key')
@Controller()
export class MetricsController {
  constructor(
    private readonly ingest: MetricsIngestService,
    private readonly query: MetricsQueryService,
    private readonly gate: IngestGate,
  ) {}

  @Post('agents/:id/metrics')
  @HttpCode(200)
  @RouteConfig({ bodyLimit: INGEST_BODY_LIMIT })
  @ApiOperation({
    summary: 'One sample of an agent: {timestamp?, metrics: {name: number|boolean}}',
    description: `${NAMES} Booleans are stored as 0/1; strings and non-finite numbers are refused. A 200 means committed.`,
  })
  @Access({ role: 'operator', scopes: ['agents:write', 'metrics:write'], agentParam: 'id' })
  @AuditExempt('metric samples are telemetry')
  @ApiZodBody(SubmitMetricsSchema)
  submit(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(SubmitMetricsSchema)) body: SubmitMetrics,
  ): Promise<IngestResult> {
    return this.gate.run(() => this.ingest.ingestOne(id, body));
  }

  @Post('metrics/batch')
  @HttpCode(200)
  @RouteConfig({ bodyLimit: INGEST_BODY_LIMIT })
  @ApiOperation({
    summary: 'Many samples (≤ 10,000, ≤ 10 MiB); all or nothing, 200 only after commit',
    description: `${NAMES} A bad sample rejects the batch with each problem's sample index in details.`,
  })
  @Access({ role: 'operator', scopes: ['metrics:write', 'agents:write'] })
  @AuditExempt('metric samples are telemetry')
  @ApiZodBody(MetricsBatchSchema)
  batch(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<IngestResult> {
    // The bytes as they came (see MetricsModule): parsed and validated with MetricsBatchSchema
    // on the parser thread, not on the event loop.
    if (!Buffer.isBuffer(body)) throw badRequest('Send the batch as application/json');
    return this.gate.run(() => this.ingest.ingestBatch(principal, body));
  }

  @Post('write')
  @HttpCode(204)
  @RouteConfig({ bodyLimit: INGEST_BODY_LIMIT })
  @ApiConsumes('text/plain')
  @ApiOperation({
    summary: 'InfluxDB v2 line protocol (Authorization: Token am_…; gzip accepted)',
    description:
      'Agent from tag `agent_id`, else `agent`, else `host` (an id, name or host). Unknown agents ' +
      'are refused (400 naming them); register agents first. Measurement `agent_metrics` maps to ' +
      'bare field names, others to `measurement.field`; remaining tags become labels. Strings are ' +
      'refused. 204 only after commit; a bad line rejects the whole body.',
  })
  @Access({ role: 'operator', scopes: ['metrics:write', 'agents:write'] })
  @AuditExempt('metric samples are telemetry')
  @ApiZodQuery(LineProtocolQuerySchema)
  async write(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(LineProtocolQuerySchema)) q: LineProtocolQuery,
    @Body() body: unknown,
  ): Promise<void> {
    if (!Buffer.isBuffer(body)) {
      throw badRequest('Send line protocol as text/plain (optionally Content-Encoding: gzip)');
    }
    await this.gate.run(() => this.ingest.ingestLineProtocol(principal, body, q));
  }

  @Get('metrics/historical/:agentId')
  @ApiOperation({
    summary: 'History of one series; step=auto picks raw or a rollup so ≤ ~1,000 points return',
    description: NAMES,
  })
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(HistoricalQuerySchema)
  historical(
    @Param('agentId') agentId: string,
    @Query(new ZodValidationPipe(HistoricalQuerySchema)) q: HistoricalQuery,
  ): Promise<HistoricalSeries> {
    return this.query.historical(agentId, q);
  }

  @Get('metrics/aggregate/:timerange')
  @ApiOperation({ summary: `Fleet aggregate of one metric over ${TIMERANGES.join('|')}, grouped` })
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(AggregateQuerySchema)
  aggregate(
    @Param('timerange') timerange: string,
    @Query(new ZodValidationPipe(AggregateQuerySchema)) q: AggregateQuery,
  ): Promise<AggregateResult> {
    return this.query.aggregate(parseTimerange(timerange), q);
  }

  @Get('metrics/series/:agentId')
  @ApiOperation({ summary: 'Known series of an agent with their latest values' })
  @Access({ role: 'viewer', scopes: ['read'] })
  series(@Param('agentId') agentId: string): Promise<AgentSeriesList> {
    return this.query.seriesOf(agentId);
  }
}

export function parseTimerange(v: string): Timerange {
  if (!(TIMERANGES as readonly string[]).includes(v)) {
    throw badRequest(`timerange must be one of ${TIMERANGES.join(', ')}`);
  }
  return v as Timerange;
}
