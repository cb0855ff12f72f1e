import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type CanActivate,
  ForbiddenException,
  type INestApplication,
  Logger,
  RequestMethod,
  SetMetadata,
  type Type,
} from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  INTERCEPTORS_METADATA,
  METHOD_METADATA,
  PIPES_METADATA,
  REDIRECT_METADATA,
  RENDER_METADATA,
  SSE_METADATA,
  VERSION_METADATA,
} from '@nestjs/common/constants';
import { ApplicationConfig, ModulesContainer, type NestContainer } from '@nestjs/core';
import { FORBIDDEN_MESSAGE } from '@nestjs/core/guards/constants';
import { GuardsContextCreator } from '@nestjs/core/guards/guards-context-creator';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { InterceptorsContextCreator } from '@nestjs/core/interceptors/interceptors-context-creator';
import { RouterExceptionFilters } from '@nestjs/core/router/router-exception-filters';
import { isObservable, lastValueFrom } from 'rxjs';
import { markStage, maybeRequestContext } from '@gateway/context';
import {
  type ArgFactory,
  argFactories,
  type BodyRequest,
  reply,
  routePaths,
} from './fast-route.nest-router';
import type { FastRouteHandler } from './fast-routes';
import { deferBodyError, readJsonBody } from './json-body';
import { isPromiseInterceptor, type PromiseInterceptor } from './promise-interceptor';

const FAST_ROUTE = 'gateway:fast-route';

/**
 * Marks a `@Post` handler whose plain JSON requests to its exact paths the Node server serves
 * before Express (`compileFastRoutes`, `installFastRoutes`), through the same guards,
 * interceptors and filters Nest runs for it.
 */
export const FastRoute = (): MethodDecorator => SetMetadata(FAST_ROUTE, true);

interface FilterEntry {
  readonly name: string;
  readonly func: (exception: unknown, host: ExecutionContextHost) => unknown;
  readonly exceptionMetatypes: ReadonlyArray<Type<unknown>>;
}

/** One fast route's lifecycle, resolved once: the same instances Nest resolves for the route. */
interface Chain {
  readonly path: string;
  readonly controller: Type<unknown>;
  readonly instance: object;
  readonly callback: (...args: unknown[]) => unknown;
  readonly guards: readonly CanActivate[];
  readonly interceptors: readonly PromiseInterceptor[];
  readonly filters: readonly FilterEntry[];
  readonly args: readonly ArgFactory[];
  readonly status: number;
}

/** What a fast route runs, by class name, in order (for tests and docs). */
export interface FastRouteDescription {
  readonly path: string;
  readonly handler: string;
  readonly guards: readonly string[];
  readonly interceptors: readonly string[];
  readonly filters: readonly string[];
}

/** Lists a route's filters the way Nest's router does (global, class, method; the last wins). */
class FilterLister extends RouterExceptionFilters {
  private resolved: object[] = [];

  list(instance: object, callback: () => unknown, moduleKey: string): FilterEntry[] {
    this.moduleContext = moduleKey;
    this.resolved = [];
    const filters: unknown = this.createContext(instance, callback, EXCEPTION_FILTERS_METADATA);
    const names = this.resolved.map((f) => f.constructor.name);
    return (filters as Array<Omit<FilterEntry, 'name'>>)
      .map((f, i) => ({ ...f, name: names[i] ?? 'unknown' }))
      .reverse();
  }

  override getFilterInstance(
    ...args: Parameters<RouterExceptionFilters['getFilterInstance']>
  ): ReturnType<RouterExceptionFilters['getFilterInstance']> {
    const filter = super.getFilterInstance(...args);
    if (filter) this.resolved.push(filter);
    return filter;
  }
}

const noop = (): void => undefined;

/**
 * The fast routes of a Nest app: every `@FastRoute()` handler, each served through a chain built
 * from the metadata Nest itself reads for the route — global guards, interceptors and filters
 * (`APP_*` providers and `app.useGlobal*`), then the controller's, then the method's — with the
 * instances Nest's own context creators resolve from the container. So a guard, interceptor or
 * filter declared on the route or globally runs on both ways in, by construction; one the chain
 * cannot run the way Nest would (an interceptor without a promise core, a pipe, a request-scoped
 * enhancer, a global prefix or versioning, a route-level header or redirect) makes compiling throw,
 * so the app refuses to boot instead of serving a route that skips it. Interceptors run through
 * their promise core (`around`), guards and filters as Nest calls them, without rxjs per request.
 *
 * A global enhancer added after compiling (`app.useGlobal*`) is noticed at the next request,
 * which recompiles every chain first.
 */
export class CompiledFastRoutes {
  private readonly logger = new Logger('Errors');
  private readonly config: ApplicationConfig;
  private readonly modules: ModulesContainer;
  private globals: readonly unknown[] = [];
  private chains = new Map<string, Chain>();

  constructor(app: INestApplication) {
    // Nest keeps the global enhancers on the application's private ApplicationConfig; there is no
    // public accessor, and the chain must see exactly what the router sees.
    const config = (app as unknown as { config?: unknown }).config;
    if (!(config instanceof ApplicationConfig)) {
      throw new Error('fast routes: cannot read the application config of this Nest app');
    }
    this.config = config;
    this.modules = app.get(ModulesContainer);
    this.compile();
  }

  /** Path → handler, for `installFastRoutes`. Each reads the body, then runs its route's chain. */
  routes(): ReadonlyMap<string, FastRouteHandler> {
    const routes = new Map<string, FastRouteHandler>();
    for (const path of this.chains.keys()) {
      routes.set(path, (req, res) => this.serve(path, req, res));
    }
    return routes;
  }

  describe(): FastRouteDescription[] {
    const name = (o: unknown): string => (o as object).constructor.name;
    return [...this.chains.values()].map((c) => ({
      path: c.path,
      handler: `${c.controller.name}.${c.callback.name}`,
      guards: c.guards.map(name),
      interceptors: c.interceptors.map(name),
      filters: c.filters.map((f) => f.name),
    }));
  }

  private serve(path: string, req: IncomingMessage, res: ServerResponse): void {
    let chain: Chain | undefined;
    try {
      if (this.globalsChanged()) this.compile();
      chain = this.chains.get(path);
      if (chain === undefined) throw new Error(`fast route ${path} is no longer declared`);
    } catch (err) {
      // A global enhancer added since boot that the chain cannot run: refuse, never skip it.
      this.logger.error(
        { err, requestId: maybeRequestContext(req)?.requestId },
        'fast route cannot run its lifecycle',
      );
      res.statusCode = 500;
      res.setHeader('Connection', 'close');
      res.end();
      return;
    }
    // The body is read first, as the Express chain's body-parser does; its failure is kept for
    // authentication to raise (so it is audited under the tenant).
    readJsonBody(req).then(
      (body) => {
        (req as BodyRequest).body = body;
        markStage(maybeRequestContext(req), 'body');
        void this.run(chain, req, res);
      },
      (err: unknown) => {
        const ctx = maybeRequestContext(req);
        markStage(ctx, 'body');
        if (ctx) deferBodyError(ctx, res, err);
        void this.run(chain, req, res);
      },
    );
  }

  private async run(chain: Chain, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = new ExecutionContextHost([req, res, noop], chain.controller, chain.callback);
    try {
      for (const guard of chain.guards) {
        let allowed = guard.canActivate(host);
        if (typeof allowed !== 'boolean') {
          allowed = await (isObservable(allowed) ? lastValueFrom(allowed) : allowed);
        }
        if (!allowed) throw new ForbiddenException(FORBIDDEN_MESSAGE);
      }
      const interceptors = chain.interceptors;
      const next = (i: number): Promise<unknown> =>
        i < interceptors.length
          ? interceptors[i].around(host, () => next(i + 1))
          : invoke(chain, host);
      reply(res, chain.status, await next(0));
    } catch (err) {
      const filter = chain.filters.find(
        (f) =>
          f.exceptionMetatypes.length === 0 || f.exceptionMetatypes.some((t) => err instanceof t),
      );
      try {
        // Compiling guarantees a catch-all filter, so one is always found.
        await filter?.func(err, host);
      } catch (e) {
        this.logger.error(
          { err: e, requestId: maybeRequestContext(req)?.requestId },
          'error answer failed',
        );
        if (!res.headersSent) res.destroy();
      }
    }
  }

  /** Cheap enough for every request: `useGlobal*` replaces these arrays, never mutates them. */
  private globalsChanged(): boolean {
    const c = this.config;
    const [guards, interceptors, filters, pipes] = this.globals;
    return (
      c.getGlobalGuards() !== guards ||
      c.getGlobalInterceptors() !== interceptors ||
      c.getGlobalFilters() !== filters ||
      c.getGlobalPipes() !== pipes
    );
  }

  private globalLists(): readonly unknown[] {
    const c = this.config;
    return [
      c.getGlobalGuards(),
      c.getGlobalInterceptors(),
      c.getGlobalFilters(),
      c.getGlobalPipes(),
    ];
  }

  private compile(): void {
    const c = this.config;
    // Recorded only once compiled: a failed recompile is retried (and refused) at every request.
    const globals = this.globalLists();
    const unsupported = (what: string) => {
      throw new Error(`fast routes cannot run ${what}; declare the route without @FastRoute()`);
    };
    if (c.getGlobalPrefix() !== '') unsupported('a global prefix');
    if (c.getVersioning() !== undefined) unsupported('versioning');
    if (c.getGlobalPipes().length > 0) unsupported('global pipes');
    if (
      c.getGlobalRequestGuards().length +
        c.getGlobalRequestInterceptors().length +
        c.getGlobalRequestFilters().length +
        c.getGlobalRequestPipes().length >
      0
    ) {
      unsupported('request-scoped global enhancers');
    }
    // The context creators only ask the container for its modules.
    const container = { getModules: () => this.modules } as unknown as NestContainer;
    const guards = new GuardsContextCreator(container, c);
    const interceptors = new InterceptorsContextCreator(container, c);
    const filters = new FilterLister(container, c, undefined as never);
    const chains = new Map<string, Chain>();
    for (const [moduleKey, moduleRef] of this.modules) {
      for (const wrapper of moduleRef.controllers.values()) {
        const controller = wrapper.metatype as Type<unknown>;
        const instance = wrapper.instance as object | undefined;
        if (!controller || !instance) continue;
        const proto = controller.prototype as Record<string, unknown>;
        for (const method of Object.getOwnPropertyNames(proto)) {
          const callback = proto[method];
          if (typeof callback !== 'function' || !Reflect.getMetadata(FAST_ROUTE, callback))
            continue;
          const where = `${controller.name}.${method}`;
          const fail = (what: string) => unsupported(`${what} (${where})`);
          if (!wrapper.isDependencyTreeStatic()) fail('a request-scoped controller');
          const cb = callback as (...args: unknown[]) => unknown;
          if (Reflect.getMetadata(METHOD_METADATA, cb) !== RequestMethod.POST)
            fail('a non-POST route');
          for (const key of [HEADERS_METADATA, REDIRECT_METADATA, RENDER_METADATA, SSE_METADATA]) {
            if (Reflect.getMetadata(key, cb) !== undefined) fail(`route metadata ${key}`);
          }
          if (
            Reflect.getMetadata(VERSION_METADATA, cb) !== undefined ||
            Reflect.getMetadata(VERSION_METADATA, controller) !== undefined
          ) {
            fail('a versioned route');
          }
          if (
            declared(PIPES_METADATA, controller, cb) > 0 ||
            Reflect.getMetadata(PIPES_METADATA, cb) !== undefined
          ) {
            fail('pipes');
          }
          const chainGuards = guards.create(instance, cb, moduleKey);
          const chainInterceptors = interceptors.create(instance, cb, moduleKey);
          const chainFilters = filters.list(instance, cb, moduleKey);
          // A request-scoped enhancer resolves to nothing statically and would be skipped.
          if (
            chainGuards.length !==
            c.getGlobalGuards().length + declared(GUARDS_METADATA, controller, cb)
          ) {
            fail('a guard that is not a static provider');
          }
          if (
            chainInterceptors.length !==
            c.getGlobalInterceptors().length + declared(INTERCEPTORS_METADATA, controller, cb)
          ) {
            fail('an interceptor that is not a static provider');
          }
          if (
            chainFilters.length !==
            c.getGlobalFilters().length + declared(EXCEPTION_FILTERS_METADATA, controller, cb)
          ) {
            fail('a filter that is not a static provider');
          }
          for (const i of chainInterceptors) {
            if (!isPromiseInterceptor(i))
              fail(`interceptor ${i.constructor.name} without around()`);
          }
          if (!chainFilters.some((f) => f.exceptionMetatypes.length === 0)) {
            fail('a route without a catch-all exception filter');
          }
          const chain: Chain = {
            path: '',
            controller,
            instance,
            callback: cb,
            guards: chainGuards,
            interceptors: chainInterceptors as PromiseInterceptor[],
            filters: chainFilters,
            args: argFactories(controller, method, fail),
            status: (Reflect.getMetadata(HTTP_CODE_METADATA, cb) as number | undefined) ?? 201,
          };
          for (const path of routePaths(controller, cb)) {
            if (chains.has(path)) fail(`a second handler for ${path}`);
            chains.set(path, { ...chain, path });
          }
        }
      }
    }
    this.chains = chains;
    this.globals = globals;
  }
}

/** Serves the app's `@FastRoute()` handlers; compiling throws for a route the chain cannot run. */
export function compileFastRoutes(app: INestApplication): CompiledFastRoutes {
  return new CompiledFastRoutes(app);
}

function declared(key: string, controller: Type<unknown>, callback: object): number {
  const onClass = Reflect.getMetadata(key, controller) as unknown[] | undefined;
  const onMethod = Reflect.getMetadata(key, callback) as unknown[] | undefined;
  return (onClass?.length ?? 0) + (onMethod?.length ?? 0);
}

/** The handler; a synchronous throw becomes a rejection, as in Nest's router. */
async function invoke(chain: Chain, host: ExecutionContextHost): Promise<unknown> {
  const args = chain.args.map((arg) => arg(host));
  return await chain.callback.apply(chain.instance, args);
}
