import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { LoginThrottle } from './login-throttle.service.js';
import { PasswordsService } from './passwords.service.js';
import { PrincipalResolver } from './principal-resolver.service.js';
import { SessionsService } from './sessions.service.js';

@Global()
@Module({
  imports: [JwtModule.register({})],
  controllers: [AuthController],
  providers: [PrincipalResolver, AuthService, PasswordsService, SessionsService, LoginThrottle],
  exports: [PrincipalResolver, JwtModule, PasswordsService, SessionsService],
})
export class AuthModule {}
