import { chatRequest, providerConfig, route } from '../__fixtures__/fixtures';
import { MockAdapter } from './mock.adapter';
import { ChatStreamAccumulator } from './stream-accumulator';

const mock = new MockAdapter();
const provider = providerConfig({ type: 'mock', baseUrl: null, apiKey: '' });

describe('MockAdapter', () => {
  it('answers deterministically: same request, same answer and token counts', async () => {
    const a = await mock.complete(provider, route(), chatRequest());
    const b = await mock.complete(provider, route(), chatRequest());
    expect(a).toEqual(b);
    expect(a.content).toMatch(/^Mock answer [0-9a-f]{12} to: Hello, how are you\?$/);
    expect(a.finishReason).toBe('stop');
    expect(a.completionTokens).toBe(a.content.split(' ').length);
    expect(a.promptTokens).toBeGreaterThan(0);
    expect(a.providerModel).toBe('model-x');
  });

  it('a different request gets a different answer', async () => {
    const a = await mock.complete(provider, route(), chatRequest());
    const b = await mock.complete(provider, route(), chatRequest({ temperature: 0.1 }));
    expect(a.content).not.toBe(b.content);
  });

  it('max_tokens truncates exactly, with finish reason length', async () => {
    const r = await mock.complete(provider, route(), chatRequest({ maxTokens: 3 }));
    expect(r.completionTokens).toBe(3);
    expect(r.content.split(' ')).toHaveLength(3);
    expect(r.finishReason).toBe('length');
  });

  it('waits latency_ms, and stops waiting when the caller aborts', async () => {
    const slow = providerConfig({ type: 'mock', baseUrl: null, latencyMs: 80 });
    const t0 = Date.now();
    await mock.complete(slow, route(), chatRequest());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);

    const controller = new AbortController();
    const pending = mock.complete(
      providerConfig({ type: 'mock', baseUrl: null, latencyMs: 10_000 }),
      route(),
      chatRequest(),
      controller.signal,
    );
    setTimeout(() => controller.abort(), 10);
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
  });
});

describe('MockAdapter streaming', () => {
  it('streams exactly the non-stream answer, with its usage, then a clean end', async () => {
    const adapter = new MockAdapter();
    const provider = providerConfig({ type: 'mock', baseUrl: null });
    const request = chatRequest();
    const acc = new ChatStreamAccumulator();
    for await (const e of adapter.stream(provider, route(), request)) acc.apply(e);
    expect(acc.result('x')).toEqual(adapter.answer(route(), request));
    expect(acc.textEvents).toBe(acc.completionTokens);
  });
});
