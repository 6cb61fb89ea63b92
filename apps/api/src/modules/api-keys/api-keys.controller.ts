import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  CreateApiKeyRequestSchema,
  ListApiKeysQuerySchema,
  type ApiKey,
  type CreateApiKeyRequest,
  type CreatedApiKey,
  type ListApiKeysQuery,
  type Page,
} from '@agent-monitor/contracts';
import { Access, Ctx, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { ApiKeysService } from './api-keys.service.js';

@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  /** The secret (`key`) is in this response only; it is stored as a hash. */
  @Post()
  @Access({ role: 'admin', scopes: ['admin'] })
  @ApiZodBody(CreateApiKeyRequestSchema)
  create(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(CreateApiKeyRequestSchema)) body: CreateApiKeyRequest,
  ): Promise<CreatedApiKey> {
    return this.keys.create(ctx, body);
  }

  @Get()
  @Access({ role: 'admin', scopes: ['admin'] })
  @ApiZodQuery(ListApiKeysQuerySchema)
  list(
    @Query(new ZodValidationPipe(ListApiKeysQuerySchema)) q: ListApiKeysQuery,
  ): Promise<Page<ApiKey>> {
    return this.keys.list(q);
  }

  @Delete(':id')
  @Access({ role: 'admin', scopes: ['admin'] })
  revoke(
    @Ctx() ctx: RequestContext,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ApiKey> {
    return this.keys.revoke(ctx, id);
  }
}
