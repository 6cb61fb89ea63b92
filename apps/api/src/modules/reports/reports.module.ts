import { Module } from '@nestjs/common';
import { SqlReportMetricsSource } from './metrics-report.source.js';
import { ReportMetricsSource } from './report-metrics.source.js';
import { ReportsController } from './reports.controller.js';
import { ReportsService } from './reports.service.js';

@Module({
  controllers: [ReportsController],
  providers: [ReportsService, { provide: ReportMetricsSource, useClass: SqlReportMetricsSource }],
})
export class ReportsModule {}
