import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { AgentsSummary, DashboardMetrics, DashboardOverview } from '@agent-monitor/contracts';
import { Access } from '../../common/access.js';
import { parseTimerange } from '../metrics/metrics.controller.js';
import { DashboardService } from './dashboard.service.js';

@ApiTags('dashboard')
@ApiBearerAuth()
@ApiSecurity('api-key')
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get('overview')
  @ApiOperation({
    summary: 'Overview page: status counts, ingest rate, fleet averages by type/environment',
  })
  @Access({ role: 'viewer', scopes: ['read'] })
  overview(): Promise<DashboardOverview> {
    return this.dashboard.overview();
  }

  @Get('metrics/:timerange')
  @ApiOperation({
    summary: 'Fleet charts (cpu, memory, disk) by type and environment over 15m|1h|6h|24h|7d|30d',
  })
  @Access({ role: 'viewer', scopes: ['read'] })
  metrics(@Param('timerange') timerange: string): Promise<DashboardMetrics> {
    return this.dashboard.metrics(parseTimerange(timerange));
  }

  @Get('agents/summary')
  @ApiOperation({ summary: 'Every agent with status and latest metric values (hot cache)' })
  @Access({ role: 'viewer', scopes: ['read'] })
  agentsSummary(): Promise<AgentsSummary> {
    return this.dashboard.agentsSummary();
  }
}
