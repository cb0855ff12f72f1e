import type { ChatResult, ChatStreamEvent, FinishReason } from '@gateway/types';

/**
 * What a stream has said so far: the text, the finish reason, the provider's latest usage figures.
 * The relay keeps one per stream to build the complete answer (for the cache, the record and the
 * bill) and to know, when the stream breaks, what was already delivered.
 */
export class ChatStreamAccumulator {
  private readonly parts: string[] = [];
  private chars = 0;
  finishReason: FinishReason | null = null;
  promptTokens: number | null = null;
  completionTokens: number | null = null;
  providerModel: string | null = null;
  /** Text events seen: on an interrupted stream with no reported usage, the completion count. */
  textEvents = 0;
  ended = false;

  apply(event: ChatStreamEvent): void {
    switch (event.kind) {
      case 'start':
        if (event.providerModel !== null) this.providerModel = event.providerModel;
        return;
      case 'text':
        this.parts.push(event.text);
        this.chars += event.text.length;
        this.textEvents++;
        return;
      case 'finish':
        this.finishReason = event.finishReason;
        return;
      case 'usage':
        if (event.promptTokens !== null) this.promptTokens = event.promptTokens;
        if (event.completionTokens !== null) this.completionTokens = event.completionTokens;
        return;
      case 'end':
        this.ended = true;
        return;
    }
  }

  get content(): string {
    if (this.parts.length > 1) this.parts.splice(0, this.parts.length, this.parts.join(''));
    return this.parts[0] ?? '';
  }

  get contentChars(): number {
    return this.chars;
  }

  /** The usage was reported in full: the stream can be billed exactly. */
  get hasUsage(): boolean {
    return this.promptTokens !== null && this.completionTokens !== null;
  }

  /** The complete answer of a stream that ended cleanly with its usage; null otherwise. */
  result(fallbackModel: string): ChatResult | null {
    if (!this.ended || this.promptTokens === null || this.completionTokens === null) return null;
    return {
      content: this.content,
      finishReason: this.finishReason ?? 'stop',
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      providerModel: this.providerModel ?? fallbackModel,
    };
  }
}
