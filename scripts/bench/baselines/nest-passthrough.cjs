/*
 * Bench baseline (`npm run bench`, scenario base-nest): NestJS 11 on Express with one POST route
 * that forwards the parsed body through an undici pool and returns the answer — the framework's own
 * cost, without auth, limits, cache, records or logs, measured in the same sitting as the gateway.
 * Env: PORT, UPSTREAM (origin).
 */
'use strict';
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { Body, Controller, HttpCode, Module, Post } = require('@nestjs/common');
const { Pool } = require('undici');

const pool = new Pool(process.env.UPSTREAM, { connections: 32 });

class Passthrough {
  async chat(body) {
    const r = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-0000' },
    });
    return r.body.json();
  }
}
const chat = Object.getOwnPropertyDescriptor(Passthrough.prototype, 'chat');
Reflect.decorate([Post('v1/chat/completions'), HttpCode(200)], Passthrough.prototype, 'chat', chat);
Body()(Passthrough.prototype, 'chat', 0);
const PassthroughController = Reflect.decorate([Controller()], Passthrough);

class BaselineModule {}
const Root = Reflect.decorate([Module({ controllers: [PassthroughController] })], BaselineModule);

void NestFactory.create(Root, { logger: false }).then((app) =>
  app.listen(Number(process.env.PORT), '127.0.0.1'),
);
