import type { RequestContext } from './request-context';

/**
 * The stages a tenant request's time is broken into by the debug histogram
 * `llm_gateway_request_stage_seconds` (`METRICS_REQUEST_STAGES=true`), in the order they end:
 *
 * - `body`: request line and headers parsed → body read and parsed
 * - `auth`: → key resolved and tenant known
 * - `admission`: → admission and cache lookup answered (hit or miss decided)
 * - `provider`: → the provider's answer in hand (absent on a cache hit)
 * - `record`: → the audit record durable and the request's follow-up work done
 * - `respond`: → the last byte of the response handed to the socket
 *
 * Each stage's duration is the time since the previous stage that was reached, so the durations of
 * one request add up to its time in the gateway. A request that ends early (refused, failed) has
 * the stages it reached; `respond` is always there.
 */
export const REQUEST_STAGES = [
  'body',
  'auth',
  'admission',
  'provider',
  'record',
  'respond',
] as const;

export type RequestStage = (typeof REQUEST_STAGES)[number];

/** Stage → its slot in the marks (slot 0 is the start). */
const INDEX = Object.fromEntries(REQUEST_STAGES.map((stage, i) => [stage, i + 1])) as Readonly<
  Record<RequestStage, number>
>;

let enabled = false;

/** Turns the marks on or off for requests that start from now on (boot sets it from the config). */
export function enableRequestStages(on: boolean): void {
  enabled = on;
}

/**
 * The marks of a new request: slot 0 is its start, slot i the end of stage i (0 = not reached),
 * in `performance.now()` milliseconds. Null while stage timing is off, so a request pays nothing.
 */
export function newStageMarks(): Float64Array | null {
  if (!enabled) return null;
  const marks = new Float64Array(REQUEST_STAGES.length + 1);
  marks[0] = performance.now();
  return marks;
}

/** Notes that the request reached the end of `stage` (the first time counts; no-op when off). */
export function markStage(ctx: RequestContext | undefined, stage: RequestStage): void {
  const marks = ctx?.stages;
  if (marks == null) return;
  const i = INDEX[stage];
  if (marks[i] === 0) marks[i] = performance.now();
}

/** Calls `observe` with each reached stage and its duration in seconds, in stage order. */
export function forEachStage(
  marks: Float64Array,
  observe: (stage: RequestStage, seconds: number) => void,
): void {
  let previous = marks[0];
  for (let i = 1; i < marks.length; i++) {
    const at = marks[i];
    if (at === 0) continue;
    observe(REQUEST_STAGES[i - 1], Math.max(0, at - previous) / 1000);
    previous = at;
  }
}
