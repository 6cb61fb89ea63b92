import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  ListAuditLogsQuerySchema,
  type AuditLogEntry,
  type ListAuditLogsQuery,
  type Page,
} from '@agent-monitor/contracts';
import { Access } from '../../common/access.js';
import { ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { AuditService } from './audit.service.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit-logs')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Access({ role: 'admin', scopes: ['admin'] })
  @ApiZodQuery(ListAuditLogsQuerySchema)
  list(
    @Query(new ZodValidationPipe(ListAuditLogsQuerySchema)) q: ListAuditLogsQuery,
  ): Promise<Page<AuditLogEntry>> {
    return this.audit.list(q);
  }
}
