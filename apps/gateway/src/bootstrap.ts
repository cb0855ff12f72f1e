import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { GatewayConfig } from '@gateway/config';
import {
  accessLogMiddleware,
  compileFastRoutes,
  deferredJsonMiddleware,
  installClientErrorHandler,
  installFastRoutes,
  type NodeMiddleware,
  requestContextMiddleware,
  requestStagesMiddleware,
} from '@gateway/http';
import { enableRequestStages } from '@gateway/context';
import { GatewayMetrics } from '@gateway/observability';
import { AppModule } from './app.module';
import { createLoggers } from './logger.options';
import { setupSwagger } from './swagger';

/** Builds the app (not yet listening): shared by main.ts and the e2e tests. */
export async function createGatewayApp(config: GatewayConfig): Promise<NestExpressApplication> {
  const loggers = createLoggers(config);
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, loggers.root),
    {
      bodyParser: false,
      bufferLogs: true,
      abortOnError: false,
    },
  );
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.disable('etag');
  // Node's querystring: `a[b]=1` stays a key named `a[b]` (never an object), which the strict
  // query check then refuses by name.
  app.set('query parser', 'simple');
  // Run on both ways in, after the request context and before the body.
  const perRequest: NodeMiddleware[] = [];
  if (config.logRequests) perRequest.push(accessLogMiddleware(loggers.access));
  enableRequestStages(config.metricsRequestStages);
  if (config.metricsRequestStages) {
    const stages = app.get(GatewayMetrics).requestStage;
    perRequest.push(
      requestStagesMiddleware((stage, seconds) => stages.observe({ stage }, seconds)),
    );
  }
  // Order matters: the request context first, then the body (whose errors are deferred to auth).
  app.use(requestContextMiddleware);
  for (const m of perRequest) app.use(m);
  app.use(deferredJsonMiddleware(config.server.maxBodyBytes));
  setupSwagger(app);
  // The @FastRoute() handlers' plain JSON requests skip Express and Nest's rxjs pipeline, not
  // their lifecycle: the same guards, interceptors and filters run (libs/http). Compiling throws
  // for a route whose lifecycle it could not run, so the app refuses to boot.
  installFastRoutes(app.getHttpServer(), {
    routes: compileFastRoutes(app).routes(),
    maxBodyBytes: config.server.maxBodyBytes,
    middleware: perRequest,
  });
  // Requests the HTTP parser refuses before any route sees them still get a JSON error.
  installClientErrorHandler(app.getHttpServer(), loggers.root.child({ context: 'HttpParser' }));
  return app;
}
