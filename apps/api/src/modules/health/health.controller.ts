import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { HealthStatus } from '@agent-monitor/contracts';
import { Public } from '../../common/access.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @Public()
  live(): HealthStatus {
    return { status: 'ok', version: this.config.version, uptimeSec: Math.round(process.uptime()) };
  }

  /** Readiness: the database answers; 503 otherwise so a load balancer stops sending. */
  @Get('ready')
  @Public()
  @HealthCheck()
  ready() {
    return this.health.check([() => this.db.pingCheck('database', { timeout: 2000 })]);
  }
}
