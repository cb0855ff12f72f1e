/* Test-only helpers (excluded from the build with the rest of __fixtures__). */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { ChatRequest } from '@gateway/types';

export interface RecordedAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body exactly as it came over the wire. */
  body: string;
}

export function recorded(file: string): RecordedAnswer {
  const doc = JSON.parse(readFileSync(join(__dirname, file), 'utf8')) as {
    status: number;
    headers: IncomingHttpHeaders;
    body: unknown;
  };
  return {
    status: doc.status,
    headers: doc.headers,
    body: typeof doc.body === 'string' ? doc.body : JSON.stringify(doc.body),
  };
}

export function providerConfig(overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'p',
    type: 'openai',
    baseUrl: 'http://127.0.0.1:9/v1',
    apiKey: 'sk-test-key-0123456789abcdef',
    missingCredential: null,
    timeoutMs: 1000,
    deadlineMs: 1000,
    maxRetries: 1,
    healthCheck: false,
    latencyMs: 0,
    maxResponseBytes: 1024 * 1024,
    circuitBreaker: {
      failureThreshold: 5,
      failureRatio: 0.5,
      minRequests: 20,
      windowMs: 10_000,
      openMs: 1_000,
      maxOpenMs: 4_000,
    },
    ...overrides,
  };
}

export function route(overrides: Partial<RouteConfig> = {}): RouteConfig {
  return {
    provider: 'p',
    model: 'model-x',
    price: {
      input: 1_500,
      output: 6_000,
      inputPerMillion: '0.15',
      outputPerMillion: '0.60',
      maxOutputTokens: 16_384,
    },
    ...overrides,
  };
}

export function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hello, how are you?' },
    ],
    maxTokens: null,
    temperature: null,
    topP: null,
    stop: null,
    presencePenalty: null,
    frequencyPenalty: null,
    seed: null,
    user: null,
    ...overrides,
  };
}

/** A recorded `text/event-stream` body, exactly as it came over the wire. */
export function recordedStream(file: string): string {
  return readFileSync(join(__dirname, file), 'utf8');
}
