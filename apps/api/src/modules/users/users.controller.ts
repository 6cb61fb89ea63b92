import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  ChangePasswordRequestSchema,
  CreateUserRequestSchema,
  ListUsersQuerySchema,
  UpdateUserRequestSchema,
  type ChangePasswordRequest,
  type CreateUserRequest,
  type ListUsersQuery,
  type Page,
  type UpdateUserRequest,
  type User,
} from '@agent-monitor/contracts';
import {
  Access,
  Ctx,
  CurrentPrincipal,
  type Principal,
  type RequestContext,
  type UserPrincipal,
} from '../../common/access.js';
import { forbidden } from '../../common/errors.js';
import { PeopleOnly } from '../auth/access.guard.js';
import { ApiZodBody, ApiZodQuery } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { UsersService } from './users.service.js';

const uuid = new ParseUUIDPipe();

/** The guard already refuses keys here (@PeopleOnly); this narrows the type. */
function person(p: Principal): UserPrincipal {
  if (p.kind !== 'user') throw forbidden('API keys have no profile; sign in as a person');
  return p;
}

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** The signed-in person (API keys have no profile). */
  @Get('profile')
  @Access({ role: 'viewer' })
  @PeopleOnly()
  profile(@CurrentPrincipal() p: Principal): Promise<User> {
    return this.users.profile(person(p));
  }

  /** Ends the caller's other sessions; this one stays signed in. */
  @Post('profile/password')
  @Access({ role: 'viewer' })
  @PeopleOnly()
  @HttpCode(204)
  @ApiZodBody(ChangePasswordRequestSchema)
  async changePassword(
    @Ctx() ctx: RequestContext,
    @CurrentPrincipal() p: Principal,
    @Body(new ZodValidationPipe(ChangePasswordRequestSchema)) body: ChangePasswordRequest,
  ): Promise<void> {
    await this.users.changePassword(ctx, person(p), body);
  }

  @Get()
  @Access({ role: 'admin', scopes: ['admin'] })
  @ApiZodQuery(ListUsersQuerySchema)
  list(@Query(new ZodValidationPipe(ListUsersQuerySchema)) q: ListUsersQuery): Promise<Page<User>> {
    return this.users.list(q);
  }

  @Post()
  @Access({ role: 'admin', scopes: ['admin'] })
  @ApiZodBody(CreateUserRequestSchema)
  create(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(CreateUserRequestSchema)) body: CreateUserRequest,
  ): Promise<User> {
    return this.users.create(ctx, body);
  }

  @Get(':id')
  @Access({ role: 'admin', scopes: ['admin'] })
  get(@Param('id', uuid) id: string): Promise<User> {
    return this.users.get(id);
  }

  /** Role change, disable and password reset end that user's sessions. */
  @Patch(':id')
  @Access({ role: 'admin', scopes: ['admin'] })
  @ApiZodBody(UpdateUserRequestSchema)
  update(
    @Ctx() ctx: RequestContext,
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(UpdateUserRequestSchema)) body: UpdateUserRequest,
  ): Promise<User> {
    return this.users.update(ctx, id, body);
  }

  @Delete(':id')
  @Access({ role: 'admin', scopes: ['admin'] })
  @HttpCode(204)
  async remove(@Ctx() ctx: RequestContext, @Param('id', uuid) id: string): Promise<void> {
    await this.users.remove(ctx, id);
  }
}
