import type { Logger } from '@nestjs/common';

const WARN_EVERY_MS = 10_000;

/**
 * Warnings that repeat with every request during an outage, logged at most once per 10 s per
 * key. Bounded: the keys are a fixed set named in the code, never built from request data.
 */
export class WarnEvery {
  private readonly last = new Map<string, number>();

  constructor(private readonly logger: Logger) {}

  warn(key: string, message: string, err?: unknown): void {
    const now = Date.now();
    if (now - (this.last.get(key) ?? 0) < WARN_EVERY_MS) return;
    this.last.set(key, now);
    this.logger.warn(err ? { err } : {}, message);
  }
}
