import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  SystemHealthQuerySchema,
  type SystemHealthQuery,
  type SystemHealthResponse,
  type WatchdogResponse,
} from '@agent-monitor/contracts';
import { Access } from '../../common/access.js';
import { DomainException } from '../../common/errors.js';
import { ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { SystemHealthService } from './system-health.service.js';

@ApiTags('system')
@Controller('system')
export class SystemController {
  constructor(private readonly health: SystemHealthService) {}

  @Get('health')
  @Access({ role: 'operator', scopes: ['admin'] })
  @ApiOperation({
    summary: "The monitor's own health: this instance now, every live instance, and history",
  })
  @ApiZodQuery(SystemHealthQuerySchema)
  report(
    @Query(new ZodValidationPipe(SystemHealthQuerySchema)) q: SystemHealthQuery,
  ): Promise<SystemHealthResponse> {
    return this.health.report(q.minutes);
  }

  /**
   * Dead-man's switch: answers 200 `{status:'firing'}` for as long as the API, its database
   * and its health loop work. An external checker polls it and pages when it stops answering.
   */
  @Get('watchdog')
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiOperation({ summary: "Always-firing watchdog for dead-man's-switch checkers (503 when not)" })
  async watchdog(): Promise<WatchdogResponse> {
    const snap = await this.health.measure(false);
    if (snap.dbStatus !== 'up') {
      throw new DomainException('UNAVAILABLE', 'The database does not answer', undefined, 5);
    }
    const last = this.health.lastSnapshotAt;
    return {
      status: 'firing',
      at: snap.at,
      instance: snap.instance,
      database: 'up',
      lastSnapshotAt: last ? last.toISOString() : null,
    };
  }
}
