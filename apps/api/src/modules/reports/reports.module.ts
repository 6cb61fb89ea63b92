import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { SqlReportMetricsSource } from './metrics-report.source.js';
import { ReportMetricsSource } from './report-metrics.source.js';
import { ReportScheduler } from './report-scheduler.service.js';
import { ReportSchedulesController } from './report-schedules.controller.js';
import { ReportSchedulesService } from './report-schedules.service.js';
import { ReportsController } from './reports.controller.js';
import { ReportsService } from './reports.service.js';

@Module({
  imports: [NotificationsModule],
  controllers: [ReportsController, ReportSchedulesController],
  providers: [
    ReportsService,
    ReportSchedulesService,
    ReportScheduler,
    { provide: ReportMetricsSource, useClass: SqlReportMetricsSource },
  ],
})
export class ReportsModule {}
