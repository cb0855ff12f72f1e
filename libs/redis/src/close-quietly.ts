import type { RedisClient } from './redis.service';

/** How long a clean QUIT may take before the socket is dropped anyway. */
const QUIT_TIMEOUT_MS = 1_000;

/**
 * QUIT when connected (lets pending replies arrive), else drop the socket: on a connection with an
 * offline queue (subscribers) a command sent while Redis is down or frozen would wait forever, and
 * shutdown with it.
 */
export async function closeQuietly(c: RedisClient): Promise<void> {
  if (c.status === 'ready') {
    await withTimeout(
      c.quit().catch(() => undefined),
      QUIT_TIMEOUT_MS,
    );
  }
  c.disconnect();
}

/** Resolves when `work` settles or after `ms`, whichever is first; never rejects. */
export async function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}
