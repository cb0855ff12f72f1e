import { Module } from '@nestjs/common';
import { ProvidersModule } from '@gateway/providers';
import { ProvidersAdminController } from './providers-admin.controller';

/** `GET /api/v1/admin/providers` and `/models` over the providers facade. Needs the global Config and Tenancy modules. */
@Module({
  imports: [ProvidersModule],
  controllers: [ProvidersAdminController],
})
export class ProvidersApiModule {}
