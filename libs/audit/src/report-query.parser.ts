import type { Outcome } from '@gateway/context';
import { echoInput, GatewayError } from '@gateway/errors';
import {
  type AuditCursor,
  type AuditQuery,
  type ChargebackQuery,
  GROUP_BY_FIELDS,
  type GroupByField,
} from './report.types';

/*
 * Query-string parsing for the report routes: every bad value is a 400 naming its parameter, and
 * nothing unvalidated reaches SQL (tenant ids must be UUIDs, outcomes from the vocabulary).
 */

export const MAX_DAYS = 3660;
export const DEFAULT_DAYS = 30;
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const MAX_NAME_CHARS = 256;
const DAY_MS = 86_400_000;
const MAX_BIGINT = 2n ** 63n - 1n;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ISO 8601: a date, or a date-time with an explicit offset (an instant, never local time).
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_INSTANT =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export const OUTCOMES: readonly Outcome[] = [
  'success',
  'cached',
  'rate_limited',
  'budget_exceeded',
  'invalid_request',
  'forbidden',
  'not_found',
  'upstream_error',
  'upstream_timeout',
  'unavailable',
  'client_closed',
  'internal_error',
];

type Raw = unknown;

function bad(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/** A single query value: repeated parameters (`?a=1&a=2`) are refused rather than guessed. */
function single(value: Raw, param: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw bad(param, `${param} must be given once, as a plain value.`);
  return value;
}

function integer(value: Raw, param: string, min: number, max: number, dflt: number): number {
  const text = single(value, param);
  if (text === undefined || text === '') return dflt;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw bad(param, `${param} must be a whole number from ${min} to ${max}.`);
  }
  return Number(text);
}

function instant(value: Raw, param: string): Date | null {
  const text = single(value, param);
  if (text === undefined || text === '') return null;
  const ms = ISO_DATE.test(text) || ISO_INSTANT.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms) || !realCalendarDate(text)) {
    throw bad(param, `${param} must be an ISO 8601 date or instant, e.g. 2025-01-31T00:00:00Z.`);
  }
  return new Date(ms);
}

/** Date.parse accepts 2025-02-30 (rolling it into March); a report range must not. */
function realCalendarDate(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function name(value: Raw, param: string): string | null {
  const text = single(value, param);
  if (text === undefined || text === '') return null;
  if (text.length > MAX_NAME_CHARS) throw bad(param, `${param} is too long.`);
  return text;
}

function checkOrder(from: Date | null, to: Date | null): void {
  if (from && to && from.getTime() > to.getTime()) {
    throw bad('from', 'from must not be after to.');
  }
}

/** `days` of the usage reports: a rolling window of N × 24 h ending now. */
export function parseDays(value: Raw): number {
  return integer(value, 'days', 1, MAX_DAYS, DEFAULT_DAYS);
}

export function windowStart(days: number, now: Date): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

/** A tenant id from a query or path; malformed ids are a 400 on the named parameter. */
export function parseTenantId(value: Raw, param: string): string | null {
  const text = single(value, param);
  if (text === undefined || text === '') return null;
  if (!UUID.test(text)) throw bad(param, `${param} must be a tenant id (UUID).`);
  return text.toLowerCase();
}

/**
 * The chargeback report's query. Defaults: `from` = start of the current UTC month, `to` = now,
 * `group_by` = tenant.
 */
export function parseChargebackQuery(
  q: Record<string, Raw>,
  now: Date,
): ChargebackQuery & { format: 'json' | 'csv' } {
  const to = instant(q.to, 'to') ?? now;
  const from =
    instant(q.from, 'from') ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  checkOrder(from, to);
  const format = single(q.format, 'format') || 'json';
  if (format !== 'json' && format !== 'csv') throw bad('format', 'format must be json or csv.');
  return { from, to, groupBy: parseGroupBy(q.group_by), format };
}

export function parseGroupBy(value: Raw): GroupByField[] {
  const text = single(value, 'group_by');
  if (text === undefined || text.trim() === '') return ['tenant'];
  const fields: GroupByField[] = [];
  for (const part of text.split(',')) {
    const field = part.trim();
    if (!(GROUP_BY_FIELDS as readonly string[]).includes(field)) {
      throw bad(
        'group_by',
        `group_by: unknown field '${echoInput(field)}'; use any of ${GROUP_BY_FIELDS.join(', ')}.`,
      );
    }
    if (!fields.includes(field as GroupByField)) fields.push(field as GroupByField);
  }
  return fields;
}

export function parseAuditQuery(q: Record<string, Raw>): AuditQuery {
  const from = instant(q.from, 'from');
  const to = instant(q.to, 'to');
  checkOrder(from, to);
  const status = single(q.status, 'status');
  let outcome: Outcome | null = null;
  if (status !== undefined && status !== '') {
    if (!(OUTCOMES as readonly string[]).includes(status)) {
      throw bad('status', `status must be one of ${OUTCOMES.join(', ')}.`);
    }
    outcome = status as Outcome;
  }
  return {
    tenantId: parseTenantId(q.tenant_id, 'tenant_id'),
    from,
    to,
    outcome,
    provider: name(q.provider, 'provider'),
    model: name(q.model, 'model'),
    limit: integer(q.limit, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT),
    cursor: decodeCursor(single(q.cursor, 'cursor')),
  };
}

export function encodeCursor(c: AuditCursor): string {
  return Buffer.from(`${c.createdAt}|${c.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(value: string | undefined): AuditCursor | null {
  if (value === undefined || value === '') return null;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(value)
    ? Buffer.from(value, 'base64url').toString('utf8')
    : '';
  const [createdAt, id, extra] = text.split('|');
  if (
    extra !== undefined ||
    !CURSOR_TIME.test(createdAt ?? '') ||
    !/^\d{1,19}$/.test(id ?? '') ||
    BigInt(id) > MAX_BIGINT ||
    Number.isNaN(Date.parse(createdAt))
  ) {
    throw bad('cursor', 'cursor is not valid; pass next_cursor from the previous page unchanged.');
  }
  return { createdAt, id };
}
