import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PrincipalResolver } from './principal-resolver.service.js';

@Global()
@Module({
  imports: [JwtModule.register({})],
  providers: [PrincipalResolver],
  exports: [PrincipalResolver, JwtModule],
})
export class AuthModule {}
