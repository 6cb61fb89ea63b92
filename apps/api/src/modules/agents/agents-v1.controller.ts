import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ListAgentsQuerySchema,
  RegisterAgentV1RequestSchema,
  type ListAgentsV1Response,
  type RegisterAgentResponse,
  type RegisterAgentV1Request,
} from '@agent-monitor/contracts';
import { Access, Ctx, type RequestContext } from '../../common/access.js';
import { ApiZodBody } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { AgentsService } from './agents.service.js';

/** How many agents `GET /api/v1/agents` lists (the original design had no paging). */
const V1_LIST_LIMIT = 10_000;

/**
 * The original design's endpoints, kept for agents already in the field. Same auth rules as
 * v2; registration is the same operation (idempotent per name + host).
 */
@ApiTags('agents (v1 compatibility)')
@ApiBearerAuth()
@Controller('api/v1/agents')
export class AgentsV1Controller {
  constructor(private readonly agents: AgentsService) {}

  @Post('register')
  @ApiOperation({ summary: 'v1 registration: {name,type,host,port,environment,metadata}' })
  @Access({ role: 'operator', scopes: ['agents:register'] })
  @ApiZodBody(RegisterAgentV1RequestSchema)
  register(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(RegisterAgentV1RequestSchema)) body: RegisterAgentV1Request,
  ): Promise<RegisterAgentResponse> {
    return this.agents.register(ctx, body);
  }

  @Get()
  @Access({ role: 'viewer', scopes: ['read'] })
  async list(): Promise<ListAgentsV1Response> {
    const page = await this.agents.list(ListAgentsQuerySchema.parse({ limit: 500, sort: 'name' }));
    let items = page.items;
    // Beyond one page, walk the rest (bounded) so v1 clients still see the whole fleet.
    for (let p = 2; items.length < Math.min(page.total, V1_LIST_LIMIT); p++) {
      const next = await this.agents.list(ListAgentsQuerySchema.parse({ limit: 500, page: p }));
      if (!next.items.length) break;
      items = items.concat(next.items);
    }
    return {
      agents: items.map((a) => ({
        id: a.id,
        name: a.name,
        status: a.status,
        host: a.host,
        port: a.port,
        last_heartbeat: a.lastHeartbeat,
      })),
    };
  }
}
