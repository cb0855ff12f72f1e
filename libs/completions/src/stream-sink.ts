import type { ChatStreamAccumulator, ChatStreamEvent } from '@gateway/providers';

/** Where the pipeline relays a provider's stream: the client's response, in its wire format. */
export interface StreamSink {
  /** The provider's first event is in: the response head goes out now, with these headers. */
  open(headers: Readonly<Record<string, string>>): void;
  /**
   * Relays one batch of events (already applied to `acc`); resolves when the client can take
   * more, so a slow reader slows the provider instead of filling the gateway's memory. Rejects
   * with ClientClosedError when the client has gone.
   */
  write(events: readonly ChatStreamEvent[], acc: ChatStreamAccumulator): Promise<void>;
}

/** The client went away while its stream was being relayed. */
export class ClientClosedError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientClosedError';
  }
}

/**
 * A stream that broke after its first byte (the response is already 200): the record is filled
 * in, and the responder sends the in-band error (or nothing, when the client is gone).
 */
export class StreamInterruptedError extends Error {
  constructor(
    readonly clientClosed: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      clientClosed
        ? 'the client closed the connection'
        : 'The provider stream was interrupted before it completed.',
      options,
    );
    this.name = 'StreamInterruptedError';
  }
}
