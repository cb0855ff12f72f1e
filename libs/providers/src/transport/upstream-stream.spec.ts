import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GatewayConfig, GatewayConfigService, type ProviderConfig } from '@gateway/config';
import { providerConfig, route, chatRequest } from '../__fixtures__/fixtures';
import { ProviderCaller } from '../provider-caller.service';
import { ProviderError } from '../provider.error';
import type { ChatStreamEvent } from '@gateway/types';
import { UpstreamClient } from './upstream-client';

/**
 * A server whose streaming behaviour each test scripts: it gets the response and decides what to
 * write. Records whether the gateway closed the connection before the answer ended.
 */
async function scriptedServer(script: (res: ServerResponse) => void) {
  const state = { closedEarly: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.on('close', () => {
        if (!res.writableEnded) state.closedEarly++;
      });
      script(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    state,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function callerFor(provider: ProviderConfig): { caller: ProviderCaller; client: UpstreamClient } {
  const config = {
    catalog: { providers: new Map([[provider.name, provider]]), models: new Map() },
  } as unknown as GatewayConfig;
  const client = new UpstreamClient(new GatewayConfigService(config));
  return { caller: new ProviderCaller(client), client };
}

const sse = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const chunk = (content: string) => sse({ model: 'm', choices: [{ index: 0, delta: { content } }] });

async function drain(read: () => Promise<readonly ChatStreamEvent[] | null>) {
  const events: ChatStreamEvent[] = [];
  for (;;) {
    const batch = await read();
    if (batch === null) return events;
    events.push(...batch);
  }
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

describe('streamed calls (transport + caller, real sockets)', () => {
  it('relays events as they come, multi-byte characters split across chunks included', async () => {
    const text = chunk('héllo 🌍');
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(0xf0) + 2; // inside the emoji's four bytes
    const server = await scriptedServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(bytes.subarray(0, cut));
      setTimeout(() => {
        res.write(bytes.subarray(cut));
        res.end('data: [DONE]\n\n');
      }, 20);
    });
    const provider = providerConfig({ baseUrl: `${server.url}/v1`, timeoutMs: 1000 });
    const { caller, client } = callerFor(provider);
    try {
      const stream = await caller.openStream(provider, route(), chatRequest(), 1000);
      const events = await drain(() => stream.read());
      expect(events).toEqual([
        { kind: 'start', providerModel: 'm' },
        { kind: 'text', text: 'héllo 🌍' },
        { kind: 'end' },
      ]);
    } finally {
      await client.onModuleDestroy();
      await server.close();
    }
  });

  it('no event within timeout_ms after the first: a timeout, and the upstream socket is closed', async () => {
    const server = await scriptedServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('a'));
    });
    const provider = providerConfig({ baseUrl: `${server.url}/v1`, timeoutMs: 300 });
    const { caller, client } = callerFor(provider);
    try {
      const stream = await caller.openStream(provider, route(), chatRequest(), 300);
      expect(await stream.read()).toHaveLength(2);
      const started = Date.now();
      const err = await rejection(stream.read());
      expect(err.kind).toBe('timeout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      await new Promise((r) => setTimeout(r, 50));
      expect(server.state.closedEarly).toBe(1);
    } finally {
      await client.onModuleDestroy();
      await server.close();
    }
  });

  it('a slow consumer is not a stalled provider: the idle timer only runs while waiting upstream', async () => {
    const server = await scriptedServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('a'));
      setTimeout(() => res.end(chunk('b') + 'data: [DONE]\n\n'), 50);
    });
    const provider = providerConfig({ baseUrl: `${server.url}/v1`, timeoutMs: 200 });
    const { caller, client } = callerFor(provider);
    try {
      const stream = await caller.openStream(provider, route(), chatRequest(), 200);
      await stream.read();
      await new Promise((r) => setTimeout(r, 400)); // the consumer dawdles past timeout_ms
      const rest = await drain(() => stream.read());
      expect(rest.at(-1)).toEqual({ kind: 'end' });
    } finally {
      await client.onModuleDestroy();
      await server.close();
    }
  });

  it("the caller's abort and close() destroy the upstream connection at once", async () => {
    const server = await scriptedServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('a'));
    });
    const provider = providerConfig({ baseUrl: `${server.url}/v1`, timeoutMs: 5000 });
    const { caller, client } = callerFor(provider);
    try {
      const abort = new AbortController();
      const stream = await caller.openStream(provider, route(), chatRequest(), 5000, abort.signal);
      await stream.read();
      const pending = stream.read();
      abort.abort();
      expect((await rejection(pending)).kind).toBe('aborted');
      const other = await caller.openStream(provider, route(), chatRequest(), 5000);
      other.close();
      await new Promise((r) => setTimeout(r, 50));
      expect(server.state.closedEarly).toBe(2);
    } finally {
      await client.onModuleDestroy();
      await server.close();
    }
  });

  it('failures before the first event are ordinary failed attempts (status, or an empty stream)', async () => {
    const server = await scriptedServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(': just a comment\n\n');
    });
    const provider = providerConfig({ baseUrl: `${server.url}/v1`, timeoutMs: 1000 });
    const { caller, client } = callerFor(provider);
    try {
      const err = await rejection(caller.openStream(provider, route(), chatRequest(), 1000));
      expect(err.kind).toBe('invalid_response');
    } finally {
      await client.onModuleDestroy();
      await server.close();
    }
    const failing = await scriptedServer((res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"overloaded"}}');
    });
    const p2 = providerConfig({ baseUrl: `${failing.url}/v1`, timeoutMs: 1000 });
    const c2 = callerFor(p2);
    try {
      const err = await rejection(c2.caller.openStream(p2, route(), chatRequest(), 1000));
      expect(err.kind).toBe('server');
      expect(err.isRetryable).toBe(true);
    } finally {
      await c2.client.onModuleDestroy();
      await failing.close();
    }
  });
});
