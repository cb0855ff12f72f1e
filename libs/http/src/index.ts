export {
  requestContextMiddleware,
  pathOf,
  type NodeMiddleware,
} from './request-context.middleware';
export { deferredJsonMiddleware } from './deferred-json.middleware';
export { accessLogMiddleware } from './access-log.middleware';
export { BodyError, deferBodyError, isPlainJsonBody, readJsonBody } from './json-body';
export { installFastRoutes, type FastRouteHandler, type FastRoutesOptions } from './fast-routes';
export {
  compileFastRoutes,
  CompiledFastRoutes,
  FastRoute,
  type FastRouteDescription,
} from './fast-route.compiler';
export {
  AroundInterceptor,
  isPromiseInterceptor,
  type PromiseInterceptor,
} from './promise-interceptor';
export {
  installClientErrorHandler,
  parserError,
  parserErrorResponse,
  type ClientErrorLog,
} from './client-error';
export { assertStorableText, findUnstorableText, mayHoldUnstorableText } from './storable-text';
export { checkQuery } from './strict-query';
export { QueryParams } from './query-params.decorator';
export { requestStagesMiddleware } from './request-stages.middleware';
