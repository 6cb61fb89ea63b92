import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  GenerateReportQuerySchema,
  type GenerateReportQuery,
  type Report,
} from '@agent-monitor/contracts';
import { Access } from '../../common/access.js';
import { ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { reportToCsv, reportToPdf } from './report-render.js';
import { ReportsService } from './reports.service.js';

@ApiTags('reports')
@ApiBearerAuth()
@Controller('reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('generate')
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiOperation({
    summary:
      'Availability, alerts (counts, MTTA, MTTR), activity, metric summaries and LLM usage ' +
      'per agent and group, as JSON, CSV (long form) or PDF',
  })
  @ApiProduces('application/json', 'text/csv', 'application/pdf')
  @ApiZodQuery(GenerateReportQuerySchema.in)
  async generate(
    @Query(new ZodValidationPipe(GenerateReportQuerySchema)) q: GenerateReportQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Report | string | Buffer> {
    const report = await this.reports.generate(q);
    const name = `agent-monitor-report-${q.from.slice(0, 10)}-${q.to.slice(0, 10)}`;
    if (q.format === 'csv') {
      void reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.csv"`);
      return reportToCsv(report);
    }
    if (q.format === 'pdf') {
      void reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `attachment; filename="${name}.pdf"`);
      return reportToPdf(report);
    }
    return report;
  }
}
