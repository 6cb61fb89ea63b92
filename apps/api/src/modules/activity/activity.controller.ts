import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ActivityStatsQuerySchema,
  CommitsRequestSchema,
  ListCommitsQuerySchema,
  ListTasksQuerySchema,
  TaskBoardImportSchema,
  TaskEventsRequestSchema,
  TimelineQuerySchema,
  VelocityQuerySchema,
  type ActivityStats,
  type ActivityStatsQuery,
  type Commit,
  type CommitsRequest,
  type CommitsResponse,
  type ListCommitsQuery,
  type ListTasksQuery,
  type Page,
  type Task,
  type TaskBoardImport,
  type TaskBoardImportResponse,
  type TaskEvent,
  type TaskEventsRequest,
  type TaskEventsResponse,
  type Timeline,
  type TimelineQuery,
  type Velocity,
  type VelocityQuery,
} from '@agent-monitor/contracts';
import { Access, type AccessPolicy } from '../../common/access.js';
import { badRequest } from '../../common/errors.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe, uuidParam } from '../../common/zod-validation.pipe.js';
import { AuditExempt } from '../audit/audit.interceptor.js';
import { ActivityService } from './activity.service.js';

/** Agents report what they do; an agent key may report only for its own agent. */
const AGENT_WRITE: AccessPolicy = {
  role: 'operator',
  scopes: ['agents:write', 'metrics:write'],
  agentParam: 'id',
};
const READ: AccessPolicy = { role: 'viewer', scopes: ['read'] };

@ApiTags('activity')
@ApiBearerAuth()
@Controller()
export class ActivityController {
  constructor(private readonly activity: ActivityService) {}

  @Post('agents/:id/events')
  @HttpCode(202)
  @Access(AGENT_WRITE)
  @AuditExempt('agent telemetry (task events are their own record)')
  @ApiOperation({ summary: 'Record task events (one, or {events:[…]} up to 500)' })
  @ApiZodBody(TaskEventsRequestSchema)
  events(
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(TaskEventsRequestSchema)) body: TaskEventsRequest,
  ): Promise<TaskEventsResponse> {
    return this.activity.recordEvents(id, body.events);
  }

  @Post('agents/:id/commits')
  @HttpCode(200)
  @Access(AGENT_WRITE)
  @AuditExempt('agent telemetry (commits are their own record)')
  @ApiOperation({
    summary: 'Record git commits (one, or {commits:[…]}); a known hash is ignored',
  })
  @ApiZodBody(CommitsRequestSchema)
  commits(
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(CommitsRequestSchema)) body: CommitsRequest,
  ): Promise<CommitsResponse> {
    return this.activity.recordCommits(id, body.commits);
  }

  @Post('activity/tasks/import')
  @Access({ role: 'operator' })
  @ApiOperation({ summary: 'Import a task-board.json snapshot as task events of one agent' })
  @ApiZodBody(TaskBoardImportSchema)
  importBoard(
    @Body(new ZodValidationPipe(TaskBoardImportSchema)) body: TaskBoardImport,
  ): Promise<TaskBoardImportResponse> {
    return this.activity.importBoard(body);
  }

  @Get('activity/tasks')
  @Access(READ)
  @ApiOperation({ summary: 'The task board: current state of every task' })
  @ApiZodQuery(ListTasksQuerySchema)
  tasks(
    @Query(new ZodValidationPipe(ListTasksQuerySchema)) q: ListTasksQuery,
  ): Promise<Page<Task>> {
    return this.activity.listTasks(q);
  }

  @Get('activity/tasks/:taskId')
  @Access(READ)
  @ApiOperation({ summary: 'One task with its events' })
  task(@Param('taskId') taskId: string): Promise<Task & { events: TaskEvent[] }> {
    if (taskId.length > 200) throw badRequest('taskId: at most 200 characters');
    return this.activity.getTask(taskId);
  }

  @Get('activity/commits')
  @Access(READ)
  @ApiOperation({ summary: 'Commit feed, newest first' })
  @ApiZodQuery(ListCommitsQuerySchema)
  commitFeed(
    @Query(new ZodValidationPipe(ListCommitsQuerySchema)) q: ListCommitsQuery,
  ): Promise<Page<Commit>> {
    return this.activity.listCommits(q);
  }

  @Get('activity/agents/:id/timeline')
  @Access(READ)
  @ApiOperation({ summary: "One agent's task events and commits, newest first" })
  @ApiZodQuery(TimelineQuerySchema)
  timeline(
    @Param('id', uuidParam) id: string,
    @Query(new ZodValidationPipe(TimelineQuerySchema)) q: TimelineQuery,
  ): Promise<Timeline> {
    return this.activity.timeline(id, q);
  }

  @Get('activity/velocity')
  @Access(READ)
  @ApiOperation({ summary: 'Completed tasks per UTC day over the last 7 or 30 days' })
  @ApiZodQuery(VelocityQuerySchema)
  velocity(@Query(new ZodValidationPipe(VelocityQuerySchema)) q: VelocityQuery): Promise<Velocity> {
    return this.activity.velocity(q);
  }

  @Get('activity/stats')
  @Access(READ)
  @ApiOperation({ summary: 'Per-agent activity totals over the last N days' })
  @ApiZodQuery(ActivityStatsQuerySchema)
  stats(
    @Query(new ZodValidationPipe(ActivityStatsQuerySchema)) q: ActivityStatsQuery,
  ): Promise<ActivityStats> {
    return this.activity.stats(q.days);
  }
}
