import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AllExceptionsFilter } from './common/http-exception.filter.js';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { ActivityModule } from './modules/activity/activity.module.js';
import { GroupsModule } from './modules/groups/groups.module.js';
import { ReportsModule } from './modules/reports/reports.module.js';
import { RolloutsModule } from './modules/rollouts/rollouts.module.js';
import { DependenciesModule } from './modules/dependencies/dependencies.module.js';
import { AgentsModule } from './modules/agents/agents.module.js';
import { AlertsModule } from './modules/alerts/alerts.module.js';
import { ApiKeysModule } from './modules/api-keys/api-keys.module.js';
import { UsersModule } from './modules/users/users.module.js';
import { AccessGuard } from './modules/auth/access.guard.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { AuditInterceptor } from './modules/audit/audit.interceptor.js';
import { AuditModule } from './modules/audit/audit.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { MetricsModule } from './modules/metrics/metrics.module.js';
import { DashboardModule } from './modules/dashboard/dashboard.module.js';
import { RealtimeModule } from './modules/realtime/realtime.module.js';
import { RateLimitModule } from './modules/rate-limit/rate-limit.module.js';
import { SystemModule } from './modules/system/system.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forConfig(config),
        DatabaseModule.forUrl(databaseUrl, config.DATABASE_POOL_SIZE),
        // The internal event bus: domains talk through events, not each other's repositories.
        EventEmitterModule.forRoot({ wildcard: false, maxListeners: 50 }),
        AuditModule,
        AuthModule,
        ApiKeysModule,
        UsersModule,
        HealthModule,
        AlertsModule,
        RealtimeModule,
        AgentsModule,
        MetricsModule,
        DashboardModule,
        ActivityModule,
        GroupsModule,
        ReportsModule,
        RolloutsModule,
        DependenciesModule,
        SystemModule,
        RateLimitModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
      ],
    };
  }
}
