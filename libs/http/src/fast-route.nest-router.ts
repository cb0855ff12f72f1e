import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Type } from '@nestjs/common';
import {
  CUSTOM_ROUTE_ARGS_METADATA,
  PATH_METADATA,
  RESPONSE_PASSTHROUGH_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { sendJson } from '@gateway/errors';

/*
 * What Nest's router and Express adapter compute for a route, redone for the fast routes
 * (fast-route.compiler.ts): the handler's arguments from its parameter decorators, the paths it
 * answers, and what is written for its result.
 */

export type ArgFactory = (host: ExecutionContextHost) => unknown;

export type BodyRequest = IncomingMessage & { body?: unknown };

/** What Nest's Express adapter does with a passthrough handler's result. */
export function reply(res: ServerResponse, status: number, result: unknown): void {
  if (result === undefined || result === null) {
    // A handler that answered itself (a stream) has ended the response already.
    if (!res.writableEnded) {
      res.statusCode = status;
      res.end();
    }
    return;
  }
  if (res.headersSent) return;
  if (typeof result === 'object') {
    sendJson(res, status, result);
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(typeof result === 'string' ? result : JSON.stringify(result));
}

interface RouteArg {
  readonly index: number;
  readonly data?: unknown;
  readonly pipes?: readonly unknown[];
  readonly factory?: (data: unknown, host: ExecutionContextHost) => unknown;
}

/** The handler's arguments, from its parameter decorators, as Nest's router computes them. */
export function argFactories(
  controller: Type<unknown>,
  method: string,
  fail: (what: string) => never,
): ArgFactory[] {
  const meta = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<
    string,
    RouteArg
  >;
  const args: ArgFactory[] = [];
  for (const [key, arg] of Object.entries(meta)) {
    if ((arg.pipes?.length ?? 0) > 0) fail('parameter pipes');
    const { data, factory } = arg;
    if (key.includes(CUSTOM_ROUTE_ARGS_METADATA)) {
      if (!factory) fail('a custom parameter without a factory');
      args[arg.index] = (host) => factory(data, host);
      continue;
    }
    const req = (host: ExecutionContextHost) => host.getArgByIndex<BodyRequest>(0);
    switch (Number(key.split(':')[0]) as RouteParamtypes) {
      case RouteParamtypes.REQUEST:
        args[arg.index] = req;
        break;
      case RouteParamtypes.RESPONSE:
        if (Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, controller, method) !== true) {
          fail('@Res() without passthrough');
        }
        args[arg.index] = (host) => host.getArgByIndex(1);
        break;
      case RouteParamtypes.BODY:
        args[arg.index] =
          typeof data === 'string'
            ? (host) => (req(host).body as Record<string, unknown> | undefined)?.[data]
            : (host) => req(host).body;
        break;
      case RouteParamtypes.HEADERS:
        args[arg.index] =
          typeof data === 'string'
            ? (host) => req(host).headers[data.toLowerCase()]
            : (host) => req(host).headers;
        break;
      default:
        fail(`parameter decorator ${key}`);
    }
  }
  return args;
}

/** Every path Nest routes to the handler: controller paths × method paths, normalised. */
export function routePaths(controller: Type<unknown>, callback: object): string[] {
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? (v as string[]) : [typeof v === 'string' ? v : ''];
  const out: string[] = [];
  for (const base of list(Reflect.getMetadata(PATH_METADATA, controller))) {
    for (const path of list(Reflect.getMetadata(PATH_METADATA, callback))) {
      const joined = `/${base}/${path}`.replace(/\/+/g, '/');
      out.push(joined.length > 1 ? joined.replace(/\/$/, '') : joined);
    }
  }
  return out;
}
