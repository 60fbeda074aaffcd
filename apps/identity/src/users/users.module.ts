import { Module } from '@nestjs/common';
import { UserDirectoryRepository } from './user-directory.repository';
import { UserHandler } from './user.handler';
import { UserRepository } from './user.repository';
import { UserService } from './user.service';

@Module({
  providers: [UserRepository, UserDirectoryRepository, UserService, UserHandler],
  exports: [UserRepository, UserDirectoryRepository],
})
export class UsersModule {}
