import type { AttemptRecord, Outcome } from '@gateway/context';

/**
 * One request's record as handed to the writer: plain data, no prompt or completion text.
 * Costs are integer units of 1e-10 USD.
 */
export interface AuditRecord {
  requestId: string;
  tenantId: string;
  apiKeyId: string;
  createdAt: Date;
  endpoint: string;
  model: string | null;
  provider: string | null;
  providerModel: string | null;
  statusCode: number;
  outcome: Outcome;
  promptTokens: number;
  completionTokens: number;
  costUnits: number;
  costSavedUnits: number;
  latencyMs: number;
  upstreamLatencyMs: number | null;
  cached: boolean;
  attempts: readonly AttemptRecord[];
  errorCode: string | null;
}
