import { randomBytes } from 'node:crypto';
import { redisUrlWithoutDatabase } from '@gateway/config';
import { createTenant, startGateway, type TestGateway } from '../support/app';
import { keysIn, SHARED_REDIS_URL } from '../support/redis-keys';

const BASE = redisUrlWithoutDatabase(SHARED_REDIS_URL);

describe('the response cache lives in REDIS_CACHE_DB even when REDIS_URL names a database (e2e)', () => {
  let gw: TestGateway;

  // The compose file's pair: the limiters in DB 0 (named in the URL), the cache in DB 1.
  beforeAll(async () => {
    gw = await startGateway({ env: { REDIS_URL: `${BASE}/0`, REDIS_CACHE_DB: '1' } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a cached answer is written to DB 1 and the limiter windows stay in DB 0', async () => {
    const tenant = await createTenant(gw);
    const payload = {
      model: 'mock-model',
      messages: [{ role: 'user', content: `which database? ${randomBytes(4).toString('hex')}` }],
      max_tokens: 20,
    };
    const send = () =>
      gw.http().post('/api/v1/completions').set('X-API-Key', tenant.api_key).send(payload);
    expect((await send()).headers['x-cache']).toBe('MISS');
    expect((await send()).headers['x-cache']).toBe('HIT');

    const inCacheDb = await keysIn(1, gw.redisKeyPrefix);
    const inMainDb = await keysIn(0, gw.redisKeyPrefix);
    expect(inCacheDb.filter((k) => k.includes(':cache:e:'))).toHaveLength(1);
    expect(inMainDb.filter((k) => k.includes(':cache:'))).toEqual([]);
    // The limiter's state is where REDIS_URL points: its keys exist in DB 0 and not in DB 1.
    expect(inMainDb.length).toBeGreaterThan(0);
    expect(inCacheDb.filter((k) => !k.includes(':cache:'))).toEqual([]);
  });
});
