import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GatewayConfig, GatewayConfigService, type ProviderConfig } from '@gateway/config';
import { type FakeUpstream, startFakeUpstream } from '../../../../test/support/fake-upstream';
import { providerConfig } from '../__fixtures__/fixtures';
import type { WireRequest } from '../adapters/wire';
import type { ProviderError } from '../provider.error';
import { UpstreamClient } from './upstream-client';

const CHAT: WireRequest = {
  method: 'POST',
  path: '/chat/completions',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
};

function clientFor(...providers: ProviderConfig[]): UpstreamClient {
  const config = {
    catalog: { providers: new Map(providers.map((p) => [p.name, p])), models: new Map() },
  } as unknown as GatewayConfig;
  return new UpstreamClient(new GatewayConfigService(config));
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    return err as ProviderError;
  }
  throw new Error('expected a failure');
}

describe('UpstreamClient (real sockets)', () => {
  let fake: FakeUpstream;
  let client: UpstreamClient;
  let provider: ProviderConfig;

  beforeAll(async () => {
    fake = await startFakeUpstream({ name: 'up' });
    provider = providerConfig({
      name: 'up',
      baseUrl: `${fake.url}/v1`,
      maxResponseBytes: 64 * 1024,
    });
    client = clientFor(provider);
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await client.onModuleDestroy();
    await fake.close();
  });

  it('sends to base path + adapter path and returns status, headers and body', async () => {
    const res = await client.send(provider, CHAT, 1000);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).choices[0].message.content).toBe('fake answer from up: hi');
    expect(fake.lastRequest?.path).toBe('/v1/chat/completions');
  });

  it('returns error statuses as answers, not exceptions', async () => {
    await fake.setMode('503');
    const res = await client.send(provider, CHAT, 1000);
    expect(res.status).toBe(503);
  });

  it('a hung upstream: timeout within the attempt budget', async () => {
    await fake.setMode('hang');
    const t0 = Date.now();
    const e = await failure(client.send(provider, CHAT, 150));
    expect(e.kind).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('connection refused', async () => {
    await fake.setMode('refuse');
    const e = await failure(client.send(provider, CHAT, 1000));
    expect(e.kind).toBe('connection');
    expect(e.isRetryable).toBe(true);
  });

  it('reset mid-body', async () => {
    await fake.setMode('reset');
    const e = await failure(client.send(provider, CHAT, 1000));
    expect(e.kind).toBe('connection');
  });

  it('too large, streamed without a length: stops reading at the cap', async () => {
    await fake.setMode('too_large', { tooLargeBytes: 1024 * 1024 });
    const e = await failure(client.send(provider, CHAT, 2000));
    expect(e.kind).toBe('too_large');
    expect(e.allowsFallback).toBe(true);
  });

  it('too large, declared by content-length: refused before reading', async () => {
    await fake.setMode('too_large', { tooLargeBytes: 1024 * 1024, declareLength: true });
    const e = await failure(client.send(provider, CHAT, 2000));
    expect(e.kind).toBe('too_large');
  });

  it('the caller aborting is not a provider failure', async () => {
    await fake.setMode('hang');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const e = await failure(client.send(provider, CHAT, 5000, controller.signal));
    expect(e.kind).toBe('aborted');
    expect(e.countsAgainstProvider).toBe(false);
  });

  it('reuses kept-alive connections', async () => {
    let connections = 0;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = providerConfig({
      name: 'ka',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    const c = clientFor(p);
    for (let i = 0; i < 20; i++) await c.send(p, { ...CHAT, path: '/x' }, 1000);
    // undici may open a second socket while the first is being released; never one per request.
    expect(connections).toBeLessThanOrEqual(2);
    await c.onModuleDestroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('does not follow redirects', async () => {
    const hits: string[] = [];
    const server: Server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/v1/chat/completions') {
        res.writeHead(307, { location: '/elsewhere' });
        res.end();
      } else {
        res.end('{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = providerConfig({
      name: 'redir',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    });
    const c = clientFor(p);
    const res = await c.send(p, CHAT, 1000);
    expect(res.status).toBe(307);
    expect(hits).toEqual(['/v1/chat/completions']);
    await c.onModuleDestroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
