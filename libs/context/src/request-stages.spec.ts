import type { IncomingMessage } from 'node:http';
import { attachRequestContext } from './request-context';
import {
  enableRequestStages,
  forEachStage,
  markStage,
  newStageMarks,
  REQUEST_STAGES,
  type RequestStage,
} from './request-stages';

const request = () =>
  attachRequestContext({ headers: {} } as IncomingMessage, 'req-1', '/v1/chat/completions');

describe('request stages', () => {
  afterEach(() => enableRequestStages(false));

  it('costs nothing while off: no marks, and marking is a no-op', () => {
    expect(newStageMarks()).toBeNull();
    const ctx = request();
    expect(ctx.stages).toBeNull();
    expect(() => markStage(ctx, 'auth')).not.toThrow();
    expect(() => markStage(undefined, 'auth')).not.toThrow();
  });

  it('keeps the first mark of each stage, and the durations of the stages reached add up to the whole', async () => {
    enableRequestStages(true);
    const ctx = request();
    const marks = ctx.stages;
    if (marks === null) throw new Error('stage marks expected while on');
    expect(marks[0]).toBeGreaterThan(0);
    const pause = () => new Promise((r) => setTimeout(r, 3));
    for (const stage of ['body', 'auth', 'admission', 'record', 'respond'] as const) {
      await pause();
      markStage(ctx, stage);
    }
    const recordAt = marks[5];
    await pause();
    markStage(ctx, 'record'); // a second mark does not move the first
    expect(marks[5]).toBe(recordAt);

    const seen: Array<[RequestStage, number]> = [];
    forEachStage(marks, (stage, seconds) => seen.push([stage, seconds]));
    // `provider` was not reached (a cache hit): skipped, and `record` counts from `admission`.
    expect(seen.map(([s]) => s)).toEqual(['body', 'auth', 'admission', 'record', 'respond']);
    for (const [, seconds] of seen) expect(seconds).toBeGreaterThanOrEqual(0.002);
    const total = seen.reduce((sum, [, s]) => sum + s, 0);
    expect(total).toBeCloseTo((marks[6] - marks[0]) / 1000, 9);
  });

  it('names the stages in the order they end', () => {
    expect(REQUEST_STAGES).toEqual(['body', 'auth', 'admission', 'provider', 'record', 'respond']);
  });
});
