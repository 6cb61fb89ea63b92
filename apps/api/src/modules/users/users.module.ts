import { Module } from '@nestjs/common';
import { FirstAdminService } from './first-admin.service.js';
import { UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

@Module({
  controllers: [UsersController],
  providers: [UsersService, FirstAdminService],
  exports: [UsersService],
})
export class UsersModule {}
