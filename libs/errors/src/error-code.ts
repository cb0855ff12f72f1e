/**
 * Every error the gateway can answer with, mapped once to status, OpenAI-style `type`, and the
 * audit `outcome` (docs/api.md §4, §9). Libs throw GatewayError with one of these codes; only the
 * filter turns them into HTTP.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, type: 'invalid_request_error', outcome: 'invalid_request' },
  upstream_bad_request: { status: 400, type: 'invalid_request_error', outcome: 'invalid_request' },
  request_too_large: { status: 413, type: 'invalid_request_error', outcome: 'invalid_request' },
  unsupported_media_type: {
    status: 415,
    type: 'invalid_request_error',
    outcome: 'invalid_request',
  },
  // Answered by the HTTP parser's error handler, before any route or record exists.
  headers_too_large: { status: 431, type: 'invalid_request_error', outcome: 'invalid_request' },
  request_timeout: { status: 408, type: 'invalid_request_error', outcome: 'invalid_request' },
  invalid_api_key: { status: 401, type: 'authentication_error', outcome: 'forbidden' },
  wrong_key_scope: { status: 403, type: 'permission_error', outcome: 'forbidden' },
  tenant_disabled: { status: 403, type: 'permission_error', outcome: 'forbidden' },
  model_not_allowed: { status: 403, type: 'permission_error', outcome: 'forbidden' },
  model_not_found: { status: 404, type: 'not_found_error', outcome: 'not_found' },
  not_found: { status: 404, type: 'not_found_error', outcome: 'not_found' },
  budget_exceeded: { status: 402, type: 'budget_exceeded', outcome: 'budget_exceeded' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', outcome: 'rate_limited' },
  tokens_rate_limit_exceeded: { status: 429, type: 'rate_limit_error', outcome: 'rate_limited' },
  too_many_auth_failures: { status: 429, type: 'rate_limit_error', outcome: 'rate_limited' },
  all_providers_failed: { status: 502, type: 'upstream_error', outcome: 'upstream_error' },
  not_ready: { status: 503, type: 'service_unavailable', outcome: 'unavailable' },
  dependency_unavailable: { status: 503, type: 'service_unavailable', outcome: 'unavailable' },
  no_provider_available: { status: 503, type: 'service_unavailable', outcome: 'unavailable' },
  upstream_timeout: { status: 504, type: 'upstream_timeout', outcome: 'upstream_timeout' },
  internal_error: { status: 500, type: 'server_error', outcome: 'internal_error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorOutcome = (typeof ERROR_CODES)[ErrorCode]['outcome'];
