import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';

interface AuditRow {
  request_id: string;
  outcome: string;
  status_code: number;
  error_code: string | null;
  provider: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  cached: boolean;
  attempts: Array<{ provider: string; outcome: string }>;
}

/** A raw SSE exchange: status, headers, and the body's `data:` payloads in order. */
interface RawStream {
  status: number;
  headers: Headers;
  text: string;
  data: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('streaming and /v1/messages (e2e, fake upstreams that stream like the providers)', () => {
  let openai: FakeUpstream;
  let anthropic: FakeUpstream;
  let gw: TestGateway;
  let tenant: CreatedTenant;

  beforeAll(async () => {
    openai = await startFakeUpstream({ name: 'openai' });
    anthropic = await startFakeUpstream({ name: 'anthropic' });
    gw = await startGateway({
      env: { OPENAI_BASE_URL: `${openai.url}/v1`, ANTHROPIC_BASE_URL: anthropic.url },
    });
    tenant = await createTenant(gw, { rate_limit: 1000, monthly_budget: 100 });
  });
  afterAll(async () => {
    await gw?.close();
    await openai?.close();
    await anthropic?.close();
  });
  beforeEach(async () => {
    await openai.reset();
    await anthropic.reset();
  });

  const oa = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: tenant.api_key, maxRetries: 0 });
  const an = () => new Anthropic({ baseURL: gw.url, apiKey: tenant.api_key, maxRetries: 0 });

  /** A unique prompt per test, so the cache never answers unless a test wants it to. */
  let seq = 0;
  const prompt = (label: string) => `${label} number ${++seq} at ${Date.now()} please`;

  async function record(requestId: string, waitMs = 3000): Promise<AuditRow> {
    const until = Date.now() + waitMs;
    for (;;) {
      const res = await gw
        .http()
        .get(`/api/v1/admin/audit?tenant_id=${tenant.tenant_id}&limit=500`)
        .set('X-API-Key', gw.adminKey);
      const row = (res.body.data as AuditRow[]).find((r) => r.request_id === requestId);
      if (row) return row;
      if (Date.now() > until) throw new Error(`no record for ${requestId}`);
      await sleep(50);
    }
  }

  async function raw(
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<RawStream> {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': tenant.api_key, ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6));
    return { status: res.status, headers: res.headers, text, data };
  }

  /** What the fake upstream answers for a prompt, and its usage (it counts words and chars). */
  function expectedAnswer(name: string, text: string) {
    const content = `fake answer from ${name}: ${text}`;
    return { content, completion: content.split(/\s+/).length };
  }

  describe('OpenAI format', () => {
    it('the openai SDK streams with stream: true; usage is asked upstream but not sent unasked', async () => {
      const text = prompt('plain stream');
      const stream = await oa()
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: text }],
          stream: true,
        })
        .withResponse();
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.response.headers.get('x-cache')).toBe('MISS');
      expect(stream.response.headers.get('x-ratelimit-limit')).toBe('1000');
      const requestId = stream.response.headers.get('x-request-id')!;
      let content = '';
      let finish: string | null = null;
      let sawUsage = false;
      for await (const chunk of stream.data) {
        expect(chunk.object).toBe('chat.completion.chunk');
        expect(chunk.model).toBe('gpt-4o-mini');
        if (chunk.usage) sawUsage = true;
        content += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      const expected = expectedAnswer('openai', text);
      expect(content).toBe(expected.content);
      expect(finish).toBe('stop');
      expect(sawUsage).toBe(false);
      expect(openai.lastChatRequest?.body).toMatchObject({
        stream: true,
        stream_options: { include_usage: true },
      });
      const row = await record(requestId, 0);
      expect(row).toMatchObject({
        outcome: 'success',
        status_code: 200,
        provider: 'openai',
        completion_tokens: expected.completion,
        error_code: null,
      });
      expect(openai.stats().streams).toEqual({ opened: 1, completed: 1, closedByClient: 0 });
    });

    it('include_usage adds the usage-only last chunk, and the stream costs what the same answer costs unstreamed', async () => {
      const text = prompt('usage stream');
      const stream = await oa()
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: text }],
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
      const chunks = [];
      for await (const chunk of stream.data) chunks.push(chunk);
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      const expected = expectedAnswer('openai', text);
      expect(last.usage).toMatchObject({ completion_tokens: expected.completion });
      const streamed = await record(stream.response.headers.get('x-request-id')!, 0);

      const plain = await oa()
        .chat.completions.create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] },
          { headers: { 'Cache-Control': 'no-store' } },
        )
        .withResponse();
      expect(plain.data.usage).toEqual(last.usage);
      const unstreamed = await record(plain.response.headers.get('x-request-id')!, 0);
      expect(streamed.cost).toBeGreaterThan(0);
      expect(streamed.cost).toBe(unstreamed.cost);
      expect(streamed.prompt_tokens).toBe(unstreamed.prompt_tokens);
    });

    it('an Anthropic route answers an OpenAI-format stream, translated to chunks', async () => {
      const text = prompt('cross stream');
      const stream = await oa().chat.completions.create({
        model: 'claude-haiku',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: text },
        ],
        stream: true,
        stream_options: { include_usage: true },
      });
      let content = '';
      let usage: OpenAI.CompletionUsage | null | undefined = null;
      for await (const chunk of stream) {
        content += chunk.choices[0]?.delta.content ?? '';
        usage = chunk.usage ?? usage;
      }
      expect(content).toBe(expectedAnswer('anthropic', text).content);
      expect(usage?.completion_tokens).toBe(expectedAnswer('anthropic', text).completion);
      expect(anthropic.lastChatRequest?.body).toMatchObject({ stream: true, system: 'Be brief.' });
    });

    it('POST /api/v1/completions with stream: true streams the same chunk format', async () => {
      const res = await raw('/api/v1/completions', {
        model: 'mock-model',
        messages: [{ role: 'user', content: prompt('gateway format') }],
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(res.status).toBe(200);
      expect(res.data.at(-1)).toBe('[DONE]');
      const chunks = res.data.slice(0, -1).map((d) => JSON.parse(d));
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks.at(-1).usage.total_tokens).toBeGreaterThan(0);
    });

    it('the Nest path (a chunked body) streams too', async () => {
      const body = JSON.stringify({
        model: 'mock-model',
        messages: [{ role: 'user', content: prompt('chunked') }],
        stream: true,
      });
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': tenant.api_key },
        body: new Blob([body]).stream(),
        duplex: 'half',
      });
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      const row = await record(res.headers.get('x-request-id')!, 0);
      expect(row.outcome).toBe('success');
    });
  });

  describe('before the first byte a stream is an ordinary request', () => {
    it('validation and unknown models are JSON errors', async () => {
      const bad = await raw('/v1/chat/completions', {
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      expect(bad.status).toBe(404);
      expect(bad.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(bad.text).error.code).toBe('model_not_found');
    });

    it('a provider failing before its first event is replaced by the next route', async () => {
      await openai.setMode('500');
      const text = prompt('fallback stream');
      const stream = await oa()
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: text }],
          stream: true,
        })
        .withResponse();
      let content = '';
      for await (const c of stream.data) content += c.choices[0]?.delta.content ?? '';
      expect(content).toBe(expectedAnswer('anthropic', text).content);
      expect(stream.response.headers.get('x-gateway-provider')).toBe('anthropic');
      const row = await record(stream.response.headers.get('x-request-id')!, 0);
      expect(row.attempts.map((a) => [a.provider, a.outcome])).toEqual([
        ['openai', 'error'],
        ['anthropic', 'success'],
      ]);
    });
  });

  describe('after the first byte', () => {
    /** Streams `model` with the OpenAI SDK and returns what the client saw. */
    async function brokenOpenAi(model: string) {
      const text = prompt('broken');
      const stream = await oa()
        .chat.completions.create({
          model,
          messages: [{ role: 'user', content: text }],
          stream: true,
        })
        .withResponse();
      let content = '';
      let error: unknown = null;
      try {
        for await (const c of stream.data) content += c.choices[0]?.delta.content ?? '';
      } catch (err) {
        error = err;
      }
      return { text, content, error, requestId: stream.response.headers.get('x-request-id')! };
    }

    it.each(['stream_cut', 'stream_garbage', 'stream_stall'] as const)(
      '%s (a cut, an unparsable event, a stall over timeout_ms) ends in an in-band error, never [DONE]; recorded and charged',
      async (mode) => {
        await openai.setMode(mode, { streamAfter: 3 });
        const seen = await brokenOpenAi('gpt-4o-mini');
        // The client got the first three words, then the SDK raised the in-band error.
        expect(seen.content).toBe(
          expectedAnswer('openai', seen.text).content.split(' ').slice(0, 3).join(' '),
        );
        expect(seen.error).toBeInstanceOf(OpenAI.APIError);
        expect(String((seen.error as Error).message)).toContain('interrupted');
        const row = await record(seen.requestId, 0);
        expect(row).toMatchObject({
          outcome: 'upstream_error',
          error_code: 'stream_interrupted',
          status_code: 200,
          provider: 'openai',
          completion_tokens: 3,
        });
        // No usage was reported: the prompt's upper bound is billed, at the route's price.
        expect(row.prompt_tokens).toBeGreaterThan(0);
        const price = (row.prompt_tokens * 0.15 + 3 * 0.6) / 1e6;
        expect(row.cost).toBeCloseTo(price, 12);
        if (mode !== 'stream_cut') {
          // The gateway closed the upstream connection (the fake itself cut it in the cut case).
          expect(openai.stats().streams.closedByClient).toBe(1);
        }
        // Never stored: the same request asks the provider again.
        await openai.reset();
        const again = await oa().chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: seen.text }],
        });
        expect(again.choices[0].message.content).toBe(expectedAnswer('openai', seen.text).content);
        expect(openai.stats().chat).toBe(1);
      },
      15_000,
    );

    it('Anthropic format: a broken stream ends in an error event, never message_stop', async () => {
      await anthropic.setMode('stream_cut', { streamAfter: 2 });
      const text = prompt('broken anthropic');
      const res = await raw('/v1/messages', {
        model: 'claude-haiku',
        max_tokens: 100,
        messages: [{ role: 'user', content: text }],
        stream: true,
      });
      expect(res.status).toBe(200);
      expect(res.text).toContain('event: error');
      expect(res.text).not.toContain('message_stop');
      const err = JSON.parse(res.data.at(-1)!);
      expect(err).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      const row = await record(res.headers.get('x-request-id')!, 0);
      expect(row).toMatchObject({
        outcome: 'upstream_error',
        error_code: 'stream_interrupted',
        // Anthropic reported the input tokens at message_start: those are billed.
        prompt_tokens: Math.ceil(text.length / 4),
        completion_tokens: 2,
      });
    });

    it('streams are measured: time to first token, streams by outcome, interruptions by cause', async () => {
      const metrics = (await gw.http().get('/metrics')).text;
      expect(metrics).toMatch(
        /gen_ai_server_time_to_first_token_seconds_count\{[^}]*gen_ai_provider_name="openai"[^}]*\} [1-9]/,
      );
      expect(metrics).toMatch(/llm_gateway_streams_total\{outcome="success"\} [1-9]/);
      expect(metrics).toMatch(/llm_gateway_streams_total\{outcome="upstream_error"\} [1-9]/);
      expect(metrics).toMatch(
        /llm_gateway_stream_interruptions_total\{provider="openai",cause="timeout"\} [1-9]/,
      );
    });

    it('a client that disconnects aborts the upstream at once; recorded as client_closed', async () => {
      await openai.setMode('ok', { eventDelayMs: 150 });
      const controller = new AbortController();
      const stream = await oa()
        .chat.completions.create(
          {
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: prompt('client abort with a long enough answer') }],
            stream: true,
          },
          { signal: controller.signal },
        )
        .withResponse();
      const requestId = stream.response.headers.get('x-request-id')!;
      let got = 0;
      try {
        for await (const c of stream.data) {
          if (c.choices[0]?.delta.content) got++;
          if (got === 2) controller.abort();
        }
      } catch {
        // the SDK reports the abort
      }
      const row = await record(requestId);
      expect(row.outcome).toBe('client_closed');
      expect(row.error_code).toBeNull();
      expect(row.completion_tokens).toBeGreaterThanOrEqual(2);
      expect(row.cost).toBeGreaterThan(0);
      const until = Date.now() + 1000;
      while (openai.stats().streams.closedByClient === 0 && Date.now() < until) await sleep(20);
      expect(openai.stats().streams).toMatchObject({ completed: 0, closedByClient: 1 });
    });
  });

  describe('POST /v1/messages (Anthropic format)', () => {
    it('the Anthropic SDK messages.create works against an Anthropic and an OpenAI route', async () => {
      for (const [model, upstream] of [
        ['claude-haiku', 'anthropic'],
        ['gpt-4o-mini', 'openai'],
      ] as const) {
        const text = prompt(`messages ${model}`);
        const msg = await an().messages.create({
          model,
          max_tokens: 200,
          system: 'Be brief.',
          messages: [{ role: 'user', content: text }],
        });
        expect(msg.type).toBe('message');
        expect(msg.model).toBe(model);
        expect(msg.stop_reason).toBe('end_turn');
        expect(msg.content).toEqual([
          { type: 'text', text: expectedAnswer(upstream, text).content },
        ]);
        expect(msg.usage.output_tokens).toBe(expectedAnswer(upstream, text).completion);
      }
      // The OpenAI upstream got the system prompt as a system message.
      expect(openai.lastChatRequest?.body).toMatchObject({
        messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user' }],
      });
    });

    it('messages.stream works against both kinds of route, with the final usage', async () => {
      for (const [model, upstream] of [
        ['claude-haiku', 'anthropic'],
        ['gpt-4o-mini', 'openai'],
      ] as const) {
        const text = prompt(`stream ${model}`);
        const stream = an().messages.stream({
          model,
          max_tokens: 200,
          messages: [{ role: 'user', content: text }],
        });
        let deltas = '';
        stream.on('text', (t) => (deltas += t));
        const final = await stream.finalMessage();
        const expected = expectedAnswer(upstream, text);
        expect(deltas).toBe(expected.content);
        expect(final.content).toEqual([{ type: 'text', text: expected.content }]);
        expect(final.stop_reason).toBe('end_turn');
        expect(final.usage.output_tokens).toBe(expected.completion);
        expect(final.usage.input_tokens).toBeGreaterThan(0);
      }
    });

    it('errors use Anthropic shape with request-id, keys in x-api-key or Bearer', async () => {
      const bad = new Anthropic({ baseURL: gw.url, apiKey: 'llm-gw-nope', maxRetries: 0 });
      const err = await bad.messages
        .create({
          model: 'claude-haiku',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);

      const res = await raw('/v1/messages', { model: 'claude-haiku', messages: [] });
      expect(res.status).toBe(400);
      expect(res.headers.get('request-id')).toBe(res.headers.get('x-request-id'));
      expect(JSON.parse(res.text)).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error' },
      });

      const bearer = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${tenant.api_key}`,
        },
        body: JSON.stringify({
          model: 'mock-model',
          max_tokens: 20,
          messages: [{ role: 'user', content: 'hello' }],
        }),
      });
      expect(bearer.status).toBe(200);
      expect(((await bearer.json()) as { type: string }).type).toBe('message');
    });
  });

  describe('cache', () => {
    it('coalesced followers of a streaming leader get the complete answer in their own format', async () => {
      await openai.setMode('ok', { eventDelayMs: 60 });
      const text = prompt('coalesced stream');
      const body = {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user' as const, content: text }],
        max_tokens: 100,
      };
      const leader = raw('/v1/chat/completions', { ...body, stream: true });
      await sleep(150); // the leader holds the lock and is streaming
      const [streamFollower, jsonFollower, anthropicFollower] = await Promise.all([
        raw('/v1/chat/completions', {
          ...body,
          stream: true,
          stream_options: { include_usage: true },
        }),
        raw('/v1/chat/completions', body),
        raw('/v1/messages', { ...body, stream: true }),
      ]);
      const lead = await leader;
      const expected = expectedAnswer('openai', text);
      const joined = (r: RawStream) =>
        r.data
          .filter((d) => d !== '[DONE]')
          .map((d) => JSON.parse(d) as { choices: Array<{ delta?: { content?: string } }> })
          .map((c) => c.choices[0]?.delta?.content ?? '')
          .join('');
      expect(joined(lead)).toBe(expected.content);
      expect(joined(streamFollower)).toBe(expected.content);
      expect(JSON.parse(streamFollower.data.at(-2)!).usage.completion_tokens).toBe(
        expected.completion,
      );
      expect(JSON.parse(jsonFollower.text).choices[0].message.content).toBe(expected.content);
      expect(anthropicFollower.text).toContain('event: message_stop');
      expect(openai.stats().chat).toBe(1);
      for (const r of [streamFollower, jsonFollower, anthropicFollower]) {
        expect(r.headers.get('x-cache')).toBe('HIT');
        expect(await record(r.headers.get('x-request-id')!, 0)).toMatchObject({
          outcome: 'cached',
          cost: 0,
        });
      }
    });

    it("a tenant's usage report equals the sum of its records, streams (whole and broken) included", async () => {
      const t = await createTenant(gw, { rate_limit: 100, monthly_budget: 10 });
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: t.api_key, maxRetries: 0 });
      const ask = async () => {
        const s = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: prompt('usage sum') }],
          stream: true,
        });
        try {
          for await (const chunk of s) void chunk;
        } catch {
          // the broken one
        }
      };
      await ask();
      await openai.setMode('stream_cut', { streamAfter: 2 });
      await ask();
      await openai.setMode('ok');
      await ask();
      const audit = await gw
        .http()
        .get(`/api/v1/admin/audit?tenant_id=${t.tenant_id}&limit=500`)
        .set('X-API-Key', gw.adminKey);
      const rows = audit.body.data as AuditRow[];
      expect(rows.map((r) => r.outcome).sort()).toEqual(['success', 'success', 'upstream_error']);
      const usage = await gw.http().get('/api/v1/usage?days=1').set('X-API-Key', t.api_key);
      const reported = (usage.body.usage_by_provider as Array<{ cost: number }>).reduce(
        (a, r) => a + r.cost,
        0,
      );
      const recorded = rows.reduce((a, r) => a + r.cost, 0);
      expect(reported).toBeCloseTo(recorded, 10);
      expect(recorded).toBeGreaterThan(0);
    });

    it('a completed stream is stored and replayed as a stream and as JSON; a cached answer serves a stream', async () => {
      const text = prompt('cached stream');
      const body = {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user' as const, content: text }],
        max_tokens: 100,
      };
      const first = await raw('/v1/chat/completions', { ...body, stream: true });
      expect(first.headers.get('x-cache')).toBe('MISS');
      const second = await raw('/v1/chat/completions', { ...body, stream: true });
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(second.data.at(-1)).toBe('[DONE]');
      const joined = (r: RawStream) =>
        r.data
          .slice(0, -1)
          .map(
            (d) =>
              (JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> }).choices[0]
                ?.delta.content ?? '',
          )
          .join('');
      expect(joined(second)).toBe(joined(first));
      const json = await raw('/v1/chat/completions', body);
      expect(json.headers.get('x-cache')).toBe('HIT');
      expect(JSON.parse(json.text).choices[0].message.content).toBe(joined(first));
      const msg = await an().messages.create(body);
      expect(msg.content[0]).toMatchObject({ text: expectedAnswer('openai', text).content });
      expect(openai.stats().chat).toBe(1);
      const hit = await record(second.headers.get('x-request-id')!, 0);
      expect(hit).toMatchObject({ outcome: 'cached', cost: 0 });
    });
  });
});
