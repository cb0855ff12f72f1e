import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { echoInput, GatewayError } from '@gateway/errors';
import { AdminKeyEntity } from './admin-key.entity';
import { apiKeyDigestId, displayPrefix, generateApiKey, hashApiKey } from './api-key';
import { AuthFailureThrottle } from './auth-failure-throttle.service';
import { ALL_TENANTS, KEY_ISSUED, TenantChangeNotifier } from './tenant-change-notifier.service';
import type { IssuedKey } from './tenants.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Admin keys created through the API, beside the bootstrap ADMIN_API_KEY (which is not stored). */
@Injectable()
export class AdminKeysService {
  constructor(
    @InjectRepository(AdminKeyEntity) private readonly keys: Repository<AdminKeyEntity>,
    private readonly notifier: TenantChangeNotifier,
    private readonly authThrottle: AuthFailureThrottle,
  ) {}

  async issue(name: string | null): Promise<IssuedKey & { name: string | null }> {
    const plaintext = generateApiKey('admin');
    const row = await this.keys.save(
      this.keys.create({
        id: randomUUID(),
        name,
        keyHash: hashApiKey(plaintext),
        prefix: displayPrefix(plaintext),
        revokedAt: null,
      }),
    );
    // Usable at once from a client the failed-authentication throttle is refusing, on every
    // instance, and no instance may still remember it as unknown.
    this.authThrottle.vouch(apiKeyDigestId(plaintext));
    await this.notifier.publish(KEY_ISSUED);
    return { id: row.id, key: plaintext, name: row.name, createdAt: row.createdAt };
  }

  async list(): Promise<AdminKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** Revokes an admin key (idempotent); refused on every instance within 1 s. */
  async revoke(keyId: string): Promise<void> {
    const notFound = new GatewayError('not_found', `Admin key '${echoInput(keyId)}' not found.`);
    if (!UUID.test(keyId)) throw notFound;
    const result = await this.keys.update(
      { id: keyId, revokedAt: IsNull() },
      { revokedAt: () => 'now()' },
    );
    if (!result.affected && !(await this.keys.existsBy({ id: keyId }))) throw notFound;
    // Admin identities are not per tenant: every instance drops all cached identities.
    await this.notifier.publish(ALL_TENANTS);
  }
}
