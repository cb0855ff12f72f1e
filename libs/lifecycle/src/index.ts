export { LimitsGuard } from './limits.guard';
export { CacheInterceptor } from './cache.interceptor';
export {
  MeteredExchange,
  exchangeOf,
  openExchange,
  parkPlan,
  type Answered,
  type CacheStatus,
  type Decision,
  type Limits,
  type Lookup,
  type MeterPlan,
} from './metered-exchange';
export { setHeaders } from './set-headers';
