import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CreateReportScheduleSchema,
  PageQuerySchema,
  UpdateReportScheduleSchema,
  type CreateReportSchedule,
  type Page,
  type PageQuery,
  type ReportSchedule,
  type ReportScheduleRun,
  type UpdateReportSchedule,
} from '@agent-monitor/contracts';
import { Access, Ctx, type AccessPolicy, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { ReportSchedulesService } from './report-schedules.service.js';

const READ: AccessPolicy = { role: 'viewer', scopes: ['read'] };
const WRITE: AccessPolicy = { role: 'operator' };

@ApiTags('reports')
@ApiBearerAuth()
@Controller('report-schedules')
export class ReportSchedulesController {
  constructor(private readonly schedules: ReportSchedulesService) {}

  @Post()
  @Access(WRITE)
  @ApiOperation({
    summary:
      'Schedule a report (cron in a time zone, default weekly Monday 08:00) mailed as a PDF or CSV attachment to e-mail channels',
  })
  @ApiZodBody(CreateReportScheduleSchema)
  create(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(CreateReportScheduleSchema)) body: CreateReportSchedule,
  ): Promise<ReportSchedule> {
    return this.schedules.create(ctx, body);
  }

  @Get()
  @Access(READ)
  @ApiOperation({ summary: 'Report schedules with their next and last run' })
  @ApiZodQuery(PageQuerySchema)
  list(@Query(new ZodValidationPipe(PageQuerySchema)) q: PageQuery): Promise<Page<ReportSchedule>> {
    return this.schedules.list(q);
  }

  @Get(':id')
  @Access(READ)
  get(@Param('id') id: string): Promise<ReportSchedule> {
    return this.schedules.get(id);
  }

  @Get(':id/runs')
  @Access(READ)
  @ApiOperation({ summary: 'Runs of a schedule, newest first (status, error, sent at)' })
  @ApiZodQuery(PageQuerySchema)
  runs(
    @Param('id') id: string,
    @Query(new ZodValidationPipe(PageQuerySchema)) q: PageQuery,
  ): Promise<Page<ReportScheduleRun>> {
    return this.schedules.runs(id, q);
  }

  @Post(':id/run')
  @HttpCode(200)
  @Access(WRITE)
  @ApiOperation({
    summary: 'Run now: generate the report for the last interval up to now and send it at once',
  })
  run(@Ctx() ctx: RequestContext, @Param('id') id: string): Promise<ReportScheduleRun> {
    return this.schedules.runNow(ctx, id);
  }

  @Patch(':id')
  @Access(WRITE)
  @ApiZodBody(UpdateReportScheduleSchema)
  update(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(UpdateReportScheduleSchema)) body: UpdateReportSchedule,
  ): Promise<ReportSchedule> {
    return this.schedules.update(ctx, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access(WRITE)
  async remove(@Ctx() ctx: RequestContext, @Param('id') id: string): Promise<void> {
    await this.schedules.remove(ctx, id);
  }
}
