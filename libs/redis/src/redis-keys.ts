/**
 * The one builder of Redis keys. Every key of a tenant carries the tenant id in a hash
 * tag, so all of a tenant's keys live in one cluster slot and a multi-key script can touch them;
 * a key without a tenant can only be made through `global`, which names its purpose.
 */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  /** `<prefix>{t:<tenantId>}:<part>:<part>…` */
  tenant(tenantId: string, ...parts: Array<string | number>): string {
    if (!tenantId) throw new Error('RedisKeys.tenant: a tenant id is required');
    return `${this.prefix}{t:${tenantId}}:${parts.join(':')}`;
  }

  /** Fleet-wide keys (pub/sub channels, provider circuit state): never tenant data. */
  global(...parts: Array<string | number>): string {
    return `${this.prefix}g:${parts.join(':')}`;
  }
}
