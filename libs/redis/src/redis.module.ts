import { Global, Module } from '@nestjs/common';
import { RedisService } from './redis.service';

/** Global: the Redis connection is infrastructure shared by auth, limits, cache and providers. */
@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
