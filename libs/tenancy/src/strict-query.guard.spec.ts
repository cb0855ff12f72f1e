import type { IncomingMessage } from 'node:http';
import { Controller, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { attachRequestContext, type RequestContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { QueryParams } from '@gateway/http';
import { authenticate } from './key-auth';
import type { ApiKeyAuthenticator } from './api-key-authenticator.service';
import { RouteKind } from './route.decorators';
import { StrictQueryGuard } from './strict-query.guard';

@Controller()
class Routes {
  @Get('open')
  open(): void {}

  @Get('tenant')
  @RouteKind('tenant')
  @QueryParams(['days'])
  tenant(): void {}
}

function call(handler: 'open' | 'tenant', url: string) {
  const req = { url, headers: { 'x-api-key': 'k' } } as unknown as IncomingMessage;
  const ctx = attachRequestContext(req, 'r1', '/x');
  const host = new ExecutionContextHost([req, {}], Routes, Routes.prototype[handler]);
  return { req, ctx, host };
}

describe('StrictQueryGuard', () => {
  const guard = new StrictQueryGuard(new Reflector());

  it('lets a request without a query string, or with declared parameters, through', () => {
    expect(guard.canActivate(call('open', '/open').host)).toBe(true);
    const { host, ctx } = call('tenant', '/tenant?days=3');
    expect(guard.canActivate(host)).toBe(true);
    expect(ctx.queryError).toBeUndefined();
  });

  it('refuses at once on an open route', () => {
    expect(() => guard.canActivate(call('open', '/open?x=1').host)).toThrow(GatewayError);
  });

  it('defers the refusal on a keyed route for authentication to raise, after the body error', () => {
    const { host, ctx, req } = call('tenant', '/tenant?days=1&days=2');
    expect(guard.canActivate(host)).toBe(true);
    expect(ctx.queryError).toMatchObject({ code: 'invalid_request', param: 'days' });
    const auth = {
      resolve: () => ({ kind: 'tenant', tenant: { tenantId: 't' }, disabled: false }),
    } as unknown as ApiKeyAuthenticator;
    const admit = (c: RequestContext) => {
      c.tenant = { tenantId: 't' } as never;
    };
    expect(() => authenticate(auth, req, admit)).toThrow(ctx.queryError as Error);
    const bodyError = new Error('bad body');
    ctx.bodyError = bodyError;
    expect(() => authenticate(auth, req, admit)).toThrow(bodyError);
  });
});
