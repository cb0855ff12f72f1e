/*
 * Waiting in tests: for a condition (polled), or for real time to pass. One place, so a poll
 * interval or a timeout message reads the same in every file.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `stepMs` until it holds; resolves with the milliseconds it took, or fails
 * after `timeoutMs` naming what it waited for.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  stepMs = 10,
): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
  return Date.now() - t0;
}

/** Polls until `check` passes (it throws until then), or rethrows its last failure. */
export async function eventually(
  check: () => Promise<void>,
  timeoutMs = 10_000,
  stepMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(stepMs);
    }
  }
}
