export { requestContextMiddleware } from './request-context.middleware';
export { deferredJsonMiddleware } from './deferred-json.middleware';
export { accessLogMiddleware } from './access-log.middleware';
