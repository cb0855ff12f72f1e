import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { GatewayConfig } from '@gateway/config';
import {
  accessLogMiddleware,
  deferredJsonMiddleware,
  requestContextMiddleware,
} from '@gateway/http';
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
  // Order matters: the request context first, then the body (whose errors are deferred to auth).
  app.use(requestContextMiddleware);
  if (config.logRequests) app.use(accessLogMiddleware(loggers.access));
  app.use(deferredJsonMiddleware(config.server.maxBodyBytes));
  setupSwagger(app);
  return app;
}
