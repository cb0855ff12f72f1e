import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  attachRequestContext,
  enableRequestStages,
  markStage,
  type TenantContext,
} from '@gateway/context';
import { requestStagesMiddleware } from './request-stages.middleware';

const tenant = { tenantId: 't' } as TenantContext;

function exchange(): { req: IncomingMessage; res: ServerResponse & EventEmitter } {
  const req = { headers: {} } as IncomingMessage;
  const res = new EventEmitter() as ServerResponse & EventEmitter;
  return { req, res };
}

describe('requestStagesMiddleware', () => {
  afterEach(() => enableRequestStages(false));

  it('observes each stage reached once the response has finished, respond last', () => {
    enableRequestStages(true);
    const observed: string[] = [];
    const middleware = requestStagesMiddleware((stage, seconds) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      observed.push(stage);
    });
    const { req, res } = exchange();
    const ctx = attachRequestContext(req, 'r', '/v1/messages');
    ctx.tenant = tenant;
    const next = jest.fn();
    middleware(req, res, next);
    expect(next).toHaveBeenCalledTimes(1);
    markStage(ctx, 'body');
    markStage(ctx, 'auth');
    expect(observed).toEqual([]);
    res.emit('finish');
    expect(observed).toEqual(['body', 'auth', 'respond']);
    res.emit('finish');
    expect(observed).toHaveLength(3);
  });

  it('does not observe a request no tenant key authenticated', () => {
    enableRequestStages(true);
    const observe = jest.fn();
    const { req, res } = exchange();
    const ctx = attachRequestContext(req, 'r', '/health/live');
    requestStagesMiddleware(observe)(req, res, () => undefined);
    markStage(ctx, 'body');
    res.emit('finish');
    expect(observe).not.toHaveBeenCalled();
  });

  it('leaves requests without marks alone (timing off)', () => {
    const observe = jest.fn();
    const { req, res } = exchange();
    attachRequestContext(req, 'r', '/v1/messages');
    const next = jest.fn();
    requestStagesMiddleware(observe)(req, res, next);
    expect(next).toHaveBeenCalledTimes(1);
    expect(res.listenerCount('finish')).toBe(0);
    res.emit('finish');
    expect(observe).not.toHaveBeenCalled();
  });
});
