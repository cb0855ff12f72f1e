import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { ChatStreamAccumulator, OpenAiChunkEncoder } from '@gateway/providers';
import { SseResponse } from './sse-response';
import { ClientClosedError } from './stream-sink';

/** A response whose socket buffer is "full" until the test emits 'drain'. */
function fullResponse() {
  const written: string[] = [];
  const res = Object.assign(new EventEmitter(), {
    destroyed: false,
    headersSent: false,
    setHeader: jest.fn(),
    flushHeaders: jest.fn(),
    write: (text: string) => {
      written.push(text);
      return false;
    },
  });
  return { res: res as unknown as ServerResponse & EventEmitter, written, raw: res };
}

const encoder = () =>
  new OpenAiChunkEncoder({ id: 'c', created: 1, model: 'm', includeUsage: false });

describe('SseResponse backpressure', () => {
  it("waits for the socket's 'drain' before taking the next batch", async () => {
    const { res, written } = fullResponse();
    const sse = new SseResponse(res, encoder());
    const acc = new ChatStreamAccumulator();
    let resolved = false;
    const pending = sse
      .write(
        [
          { kind: 'start', providerModel: null },
          { kind: 'text', text: 'a' },
        ],
        acc,
      )
      .then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    expect(written).toHaveLength(1); // one write per batch
    expect(resolved).toBe(false); // the relay does not pull more from the provider meanwhile
    res.emit('drain');
    await pending;
    expect(resolved).toBe(true);
  });

  it('a client gone while waiting ends the wait with ClientClosedError', async () => {
    const { res, raw } = fullResponse();
    const sse = new SseResponse(res, encoder());
    const pending = sse.write([{ kind: 'text', text: 'a' }], new ChatStreamAccumulator());
    raw.destroyed = true;
    res.emit('close');
    await expect(pending).rejects.toBeInstanceOf(ClientClosedError);
  });
});
