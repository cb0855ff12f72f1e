import { forEachStage, markStage, maybeRequestContext, type RequestStage } from '@gateway/context';
import type { NodeMiddleware } from './request-context.middleware';

/**
 * Observes a tenant request's stage durations (libs/context request-stages.ts) when its response
 * finishes: the `respond` stage ends there. Installed on both ways in, after the request context,
 * only when `METRICS_REQUEST_STAGES=true`; requests without marks (timing off) pass untouched, and
 * requests no tenant key authenticated (admin calls, probes, scrapes, refused keys) are not
 * observed: the family describes the traffic the gateway meters.
 */
export function requestStagesMiddleware(
  observe: (stage: RequestStage, seconds: number) => void,
): NodeMiddleware {
  return (req, res, next) => {
    const ctx = maybeRequestContext(req);
    const marks = ctx?.stages;
    if (marks != null) {
      res.once('finish', () => {
        if (!ctx?.tenant) return;
        markStage(ctx, 'respond');
        forEachStage(marks, observe);
      });
    }
    next();
  };
}
