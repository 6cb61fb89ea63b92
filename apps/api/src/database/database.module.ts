import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions } from './data-source.js';

@Global()
@Module({})
export class DatabaseModule {
  static forUrl(url: string, poolSize: number): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({ ...dataSourceOptions({ url, poolSize }), migrationsRun: true }),
      ],
      exports: [TypeOrmModule],
    };
  }
}
