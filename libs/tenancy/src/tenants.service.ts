import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { GatewayError } from '@gateway/errors';
import { TenantEntity } from './tenant.entity';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Facade of the tenancy lib: tenants and their keys. */
@Injectable()
export class TenantsService {
  constructor(@InjectRepository(TenantEntity) private readonly tenants: Repository<TenantEntity>) {}

  /** The tenant, or 404 not_found (also for a malformed id). */
  async requireTenant(tenantId: string): Promise<TenantEntity> {
    const tenant = UUID.test(tenantId) ? await this.tenants.findOneBy({ id: tenantId }) : null;
    if (!tenant) throw new GatewayError('not_found', `Tenant ${tenantId} not found.`);
    return tenant;
  }
}
