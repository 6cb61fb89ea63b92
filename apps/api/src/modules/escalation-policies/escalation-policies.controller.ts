import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  CreateEscalationPolicySchema,
  ListEscalationPoliciesQuerySchema,
  UpdateEscalationPolicySchema,
  type CreateEscalationPolicy,
  type EscalationPolicy,
  type ListEscalationPoliciesQuery,
  type Page,
  type UpdateEscalationPolicy,
} from '@agent-monitor/contracts';
import { Access, Ctx, type RequestContext } from '../../common/access.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe, uuidParam } from '../../common/zod-validation.pipe.js';
import { EscalationPoliciesService } from './escalation-policies.service.js';

@ApiTags('escalation-policies')
@Controller('escalation-policies')
export class EscalationPoliciesController {
  constructor(private readonly policies: EscalationPoliciesService) {}

  @Post()
  @Access({ role: 'operator' })
  @ApiZodBody(CreateEscalationPolicySchema)
  create(
    @Body(new ZodValidationPipe(CreateEscalationPolicySchema)) body: CreateEscalationPolicy,
    @Ctx() ctx: RequestContext,
  ): Promise<EscalationPolicy> {
    return this.policies.create(body, ctx);
  }

  @Get()
  @Access({ role: 'viewer', scopes: ['read'] })
  @ApiZodQuery(ListEscalationPoliciesQuerySchema)
  list(
    @Query(new ZodValidationPipe(ListEscalationPoliciesQuerySchema))
    q: ListEscalationPoliciesQuery,
  ): Promise<Page<EscalationPolicy>> {
    return this.policies.list(q);
  }

  @Get(':id')
  @Access({ role: 'viewer', scopes: ['read'] })
  get(@Param('id', uuidParam) id: string): Promise<EscalationPolicy> {
    return this.policies.get(id);
  }

  @Patch(':id')
  @Access({ role: 'operator' })
  @ApiZodBody(UpdateEscalationPolicySchema)
  update(
    @Param('id', uuidParam) id: string,
    @Body(new ZodValidationPipe(UpdateEscalationPolicySchema)) body: UpdateEscalationPolicy,
    @Ctx() ctx: RequestContext,
  ): Promise<EscalationPolicy> {
    return this.policies.update(id, body, ctx);
  }

  /** 409 naming the rules while rules still follow the policy. */
  @Delete(':id')
  @HttpCode(204)
  @Access({ role: 'operator' })
  async remove(@Param('id', uuidParam) id: string, @Ctx() ctx: RequestContext): Promise<void> {
    await this.policies.remove(id, ctx);
  }
}
