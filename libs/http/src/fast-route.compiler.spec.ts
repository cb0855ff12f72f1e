import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Body,
  type CallHandler,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  type ArgumentsHost,
  Headers,
  HttpCode,
  Injectable,
  Module,
  type NestInterceptor,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import { sendJson } from '@gateway/errors';
import { compileFastRoutes, FastRoute } from './fast-route.compiler';
import { installFastRoutes } from './fast-routes';
import { AroundInterceptor } from './promise-interceptor';

/** What ran, in order, for the request being served. */
let trace: string[] = [];

@Injectable()
class GlobalGuard implements CanActivate {
  canActivate(): boolean {
    trace.push('global guard');
    return true;
  }
}

@Injectable()
class RouteGuard implements CanActivate {
  canActivate(context: ExecutionContext): Promise<boolean> {
    trace.push('route guard');
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    return Promise.resolve(req.headers['x-deny'] === undefined);
  }
}

@Injectable()
class GlobalInterceptor extends AroundInterceptor {
  async around(_context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown> {
    trace.push('global interceptor in');
    const out = await next();
    trace.push('global interceptor out');
    return out;
  }
}

@Injectable()
class RouteInterceptor extends AroundInterceptor {
  async around(_context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown> {
    trace.push('route interceptor');
    return { wrapped: await next() };
  }
}

@Catch()
class GlobalFilter implements ExceptionFilter {
  catch(exception: Error, host: ArgumentsHost): void {
    trace.push('global filter');
    sendJson(host.switchToHttp().getResponse<ServerResponse>(), 418, { global: exception.message });
  }
}

@Catch()
class RouteFilter implements ExceptionFilter {
  catch(exception: Error, host: ArgumentsHost): void {
    trace.push('route filter');
    sendJson(host.switchToHttp().getResponse<ServerResponse>(), 422, { route: exception.message });
  }
}

@Controller('lc')
@UseGuards(RouteGuard)
class LifecycleController {
  @Post(['echo', 'again'])
  @HttpCode(200)
  @FastRoute()
  @UseInterceptors(RouteInterceptor)
  echo(
    @Body() body: { fail?: boolean },
    @Headers('x-tag') tag: string | undefined,
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
  ): unknown {
    trace.push('handler');
    if (body.fail) throw new Error('boom');
    res.setHeader('X-Handler', req.method ?? '');
    return { body, tag };
  }

  @Post('filtered')
  @HttpCode(200)
  @FastRoute()
  @UseFilters(RouteFilter)
  filtered(): unknown {
    trace.push('handler');
    throw new Error('refused');
  }
}

/** A plain Nest interceptor: no promise core, so a fast route cannot run it. */
@Injectable()
class RxOnlyInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

function appModule(extra: DynamicModule['providers'] = []): DynamicModule {
  @Module({})
  class TestModule {}
  return {
    module: TestModule,
    controllers: [LifecycleController],
    providers: [
      RouteGuard,
      { provide: APP_GUARD, useClass: GlobalGuard },
      { provide: APP_INTERCEPTOR, useClass: GlobalInterceptor },
      { provide: APP_FILTER, useClass: GlobalFilter },
      ...extra,
    ],
  };
}

interface Reply {
  status: number;
  body: unknown;
  fast: boolean;
  trace: string[];
}

function post(port: number, path: string, body: unknown, headers = {}): Promise<Reply> {
  trace = [];
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(text),
          'X-Tag': 'tagged',
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'),
            // Express marks its answers; the fast route's never pass through it.
            fast: res.headers['x-powered-by'] === undefined,
            trace,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

async function boot(app: INestApplication): Promise<number> {
  const routes = compileFastRoutes(app);
  installFastRoutes(app.getHttpServer(), {
    routes: routes.routes(),
    maxBodyBytes: 10_000,
    middleware: [],
  });
  await app.listen(0, '127.0.0.1');
  return (app.getHttpServer().address() as AddressInfo).port;
}

describe('compileFastRoutes', () => {
  let app: INestApplication;
  let port: number;
  beforeAll(async () => {
    app = await NestFactory.create(appModule(), { logger: false });
    port = await boot(app);
  });
  afterAll(() => app.close());

  it('resolves the declared lifecycle: global, then controller, then method; filters last-wins', () => {
    const byPath = new Map(
      compileFastRoutes(app)
        .describe()
        .map((d) => [d.path, d]),
    );
    expect([...byPath.keys()].sort()).toEqual(['/lc/again', '/lc/echo', '/lc/filtered']);
    expect(byPath.get('/lc/echo')).toEqual({
      path: '/lc/echo',
      handler: 'LifecycleController.echo',
      guards: ['GlobalGuard', 'RouteGuard'],
      interceptors: ['GlobalInterceptor', 'RouteInterceptor'],
      filters: ['GlobalFilter'],
    });
    expect(byPath.get('/lc/filtered')?.filters).toEqual(['RouteFilter', 'GlobalFilter']);
  });

  it.each([
    ['an answer', '/lc/echo', { a: 1 }, {}],
    ['a second path of the same handler', '/lc/again', { a: 2 }, {}],
    ['a guard refusal', '/lc/echo', { a: 1 }, { 'X-Deny': '1' }],
    ['a handler error', '/lc/echo', { fail: true }, {}],
    ['a route filter', '/lc/filtered', {}, {}],
  ])('%s: the fast route runs exactly what Nest runs', async (_name, path, body, headers) => {
    const fast = await post(port, path, body, headers);
    // The trailing slash is the same route to Nest, and never a fast route.
    const nest = await post(port, `${path}/`, body, headers);
    expect([fast.fast, nest.fast]).toEqual([true, false]);
    expect(fast.trace.length).toBeGreaterThan(1);
    expect({ status: fast.status, body: fast.body, trace: fast.trace }).toEqual({
      status: nest.status,
      body: nest.body,
      trace: nest.trace,
    });
  });

  it('runs a global guard added after compiling, before the next request', async () => {
    let ran = 0;
    app.useGlobalGuards({
      canActivate: () => {
        ran++;
        return true;
      },
    });
    const r = await post(port, '/lc/echo', { a: 1 });
    expect([r.fast, r.status, ran]).toEqual([true, 200, 1]);
  });

  it('refuses (500) rather than skips a global interceptor added after compiling that it cannot run', async () => {
    const other = await NestFactory.create(appModule(), { logger: false });
    const otherPort = await boot(other);
    try {
      other.useGlobalInterceptors(new RxOnlyInterceptor());
      const first = await post(otherPort, '/lc/echo', { a: 1 });
      const again = await post(otherPort, '/lc/echo', { a: 1 });
      expect([first.fast, first.status, first.trace, again.status]).toEqual([true, 500, [], 500]);
    } finally {
      await other.close();
    }
  });

  it('refuses to compile a global interceptor it cannot run', async () => {
    const rx = await NestFactory.create(
      appModule([{ provide: APP_INTERCEPTOR, useClass: RxOnlyInterceptor }]),
      { logger: false },
    );
    try {
      expect(() => compileFastRoutes(rx)).toThrow(/RxOnlyInterceptor without around/);
    } finally {
      await rx.close();
    }
  });

  it('refuses to compile when a global pipe would be skipped', async () => {
    const piped = await NestFactory.create(appModule(), { logger: false });
    piped.useGlobalPipes(new ValidationPipe());
    try {
      expect(() => compileFastRoutes(piped)).toThrow(/global pipes/);
    } finally {
      await piped.close();
    }
  });
});
