import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditRecord } from '@gateway/audit';

/** One successful completion's record, as the pipeline hands it to the writer. */
export function auditRecord(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    requestId: `req-${randomBytes(6).toString('hex')}`,
    tenantId: randomUUID(),
    apiKeyId: randomUUID(),
    createdAt: new Date(),
    endpoint: '/api/v1/completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    providerModel: 'gpt-4o-mini-2024-07-18',
    statusCode: 200,
    outcome: 'success',
    promptTokens: 12,
    completionTokens: 15,
    costUnits: 108_000,
    costSavedUnits: 0,
    latencyMs: 40,
    upstreamLatencyMs: 35,
    cached: false,
    attempts: [{ provider: 'openai', outcome: 'success', latency_ms: 35 }],
    errorCode: null,
    ...overrides,
  };
}
