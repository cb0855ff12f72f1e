import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { GatewayMetrics } from '@gateway/observability';
import { parseCompletionBody } from './completion-request.parser';
import { CompletionsEndpoint } from './completions.endpoint';
import type { CompletionExchange, CompletionsService } from './completions.service';

const parsed = parseCompletionBody({
  model: 'mock-model',
  messages: [{ role: 'user', content: 'hi' }],
});

/** A response stand-in: an emitter with the fields the endpoint reads. */
function response(closed: boolean): ServerResponse & EventEmitter {
  return Object.assign(new EventEmitter(), {
    closed,
    writableFinished: false,
    setHeader: jest.fn(),
  }) as unknown as ServerResponse & EventEmitter;
}

/** Runs the endpoint with a pipeline that only records the signal it was given. */
function run(res: ServerResponse): { signal: Promise<AbortSignal> } {
  let seen!: (s: AbortSignal) => void;
  const signal = new Promise<AbortSignal>((resolve) => (seen = resolve));
  const completions = {
    complete: (_x: unknown, s: AbortSignal) => {
      seen(s);
      return new Promise(() => undefined);
    },
  } as unknown as CompletionsService;
  void new CompletionsEndpoint(completions, {} as GatewayMetrics).handle(
    'chat',
    { ctx: {}, plan: { parsed } } as unknown as CompletionExchange,
    res,
  );
  return { signal };
}

describe('CompletionsEndpoint client abort', () => {
  it('aborts at once when the client left before the pipeline started', async () => {
    const signal = await run(response(true)).signal;
    expect(signal.aborted).toBe(true);
  });

  it('aborts when the client leaves while the pipeline runs', async () => {
    const res = response(false);
    const signal = await run(res).signal;
    expect(signal.aborted).toBe(false);
    res.emit('close');
    expect(signal.aborted).toBe(true);
  });
});
