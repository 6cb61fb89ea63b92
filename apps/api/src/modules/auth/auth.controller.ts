import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  LoginRequestSchema,
  LogoutRequestSchema,
  RefreshRequestSchema,
  type LoginRequest,
  type LoginResponse,
  type LogoutRequest,
  type RefreshRequest,
  type TokenPair,
} from '@agent-monitor/contracts';
import {
  CurrentPrincipal,
  Ctx,
  Public,
  type Principal,
  type RequestContext,
} from '../../common/access.js';
import { ApiZodBody } from '../../common/openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { AuthService } from './auth.service.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Throttled per IP and per account (429 with Retry-After). */
  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiZodBody(LoginRequestSchema)
  login(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(LoginRequestSchema)) body: LoginRequest,
  ): Promise<LoginResponse> {
    return this.auth.login(body, ctx);
  }

  /** The presented refresh token dies; replaying it later revokes the session. */
  @Post('refresh')
  @Public()
  @HttpCode(200)
  @ApiZodBody(RefreshRequestSchema)
  refresh(
    @Ctx() ctx: RequestContext,
    @Body(new ZodValidationPipe(RefreshRequestSchema)) body: RefreshRequest,
  ): Promise<TokenPair> {
    return this.auth.refresh(body.refreshToken, ctx);
  }

  /**
   * Ends the session of the access token (Authorization header) or, when the access token
   * has expired, of the refresh token in the body. Public so an expired access token can
   * still log out; it authenticates by either token itself.
   */
  @Post('logout')
  @Public()
  @HttpCode(204)
  @ApiZodBody(LogoutRequestSchema)
  async logout(
    @Ctx() ctx: RequestContext,
    @CurrentPrincipal() principal: Principal | undefined,
    @Body(new ZodValidationPipe(LogoutRequestSchema)) body: LogoutRequest,
  ): Promise<void> {
    await this.auth.logout(principal, body.refreshToken, ctx);
  }
}
