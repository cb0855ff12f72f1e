import {
  decodeCursor,
  encodeCursor,
  parseAuditQuery,
  parseChargebackQuery,
  parseDays,
  windowStart,
} from './report-query.parser';

const invalid = (param: string) => expect.objectContaining({ code: 'invalid_request', param });

describe('report query parsing', () => {
  const now = new Date('2024-02-20T10:00:00Z');

  it('days: default 30, whole numbers 1..3660, a rolling window of N × 24 h', () => {
    expect(parseDays(undefined)).toBe(30);
    expect(parseDays('7')).toBe(7);
    for (const bad of ['0', '-1', '1.5', 'week', '3661', ['1', '2']]) {
      expect(() => parseDays(bad)).toThrow(invalid('days'));
    }
    expect(windowStart(2, now).toISOString()).toBe('2024-02-18T10:00:00.000Z');
  });

  it('chargeback: defaults to this UTC month until now, grouped by tenant, as JSON', () => {
    expect(parseChargebackQuery({}, now)).toEqual({
      from: new Date('2024-02-01T00:00:00Z'),
      to: now,
      groupBy: ['tenant'],
      format: 'json',
    });
  });

  it('chargeback: accepts dates, instants with offsets, csv, and de-duplicates group_by', () => {
    expect(
      parseChargebackQuery(
        {
          group_by: 'day, provider,day',
          format: 'csv',
          from: '2024-01-01',
          to: '2024-01-02T01:00:00+01:00',
        },
        now,
      ),
    ).toEqual({
      groupBy: ['day', 'provider'],
      format: 'csv',
      from: new Date('2024-01-01T00:00:00Z'),
      to: new Date('2024-01-02T00:00:00Z'),
    });
  });

  it.each([
    [{ group_by: 'tenant,week' }, 'group_by'],
    [{ group_by: ['tenant', 'day'] }, 'group_by'],
    [{ from: 'yesterday' }, 'from'],
    [{ from: '2024-02-10T00:00:00' }, 'from'],
    [{ to: '2024-02-30' }, 'to'],
    [{ to: '2024-02-10T25:00:00Z' }, 'to'],
    [{ from: '2024-02-10', to: '2024-02-01' }, 'from'],
    [{ format: 'xml' }, 'format'],
  ])('chargeback: %j is a 400 on %s', (q, param) => {
    expect(() => parseChargebackQuery(q, now)).toThrow(invalid(param));
  });

  it('audit: defaults and every filter', () => {
    expect(parseAuditQuery({})).toEqual({
      tenantId: null,
      from: null,
      to: null,
      outcome: null,
      provider: null,
      model: null,
      limit: 50,
      cursor: null,
    });
    const cursor = encodeCursor({ createdAt: '2024-02-01T00:00:00.123456Z', id: '42' });
    expect(
      parseAuditQuery({
        tenant_id: '3F0C6A52-8D2B-4E0A-9A51-2B7F1C9D4E10',
        from: '2024-02-01',
        to: '2024-02-02',
        status: 'budget_exceeded',
        provider: 'openai',
        model: 'gpt-4o',
        limit: '500',
        cursor,
      }),
    ).toEqual({
      tenantId: '3f0c6a52-8d2b-4e0a-9a51-2b7f1c9d4e10',
      from: new Date('2024-02-01T00:00:00Z'),
      to: new Date('2024-02-02T00:00:00Z'),
      outcome: 'budget_exceeded',
      provider: 'openai',
      model: 'gpt-4o',
      limit: 500,
      cursor: { createdAt: '2024-02-01T00:00:00.123456Z', id: '42' },
    });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '501' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ tenant_id: 'acme' }, 'tenant_id'],
    [{ status: 'ok' }, 'status'],
    [{ provider: 'x'.repeat(300) }, 'provider'],
    [{ cursor: 'garbage!' }, 'cursor'],
    [
      {
        cursor: Buffer.from('2024-01-01T00:00:00.000000Z|9999999999999999999').toString(
          'base64url',
        ),
      },
      'cursor',
    ],
    [{ cursor: Buffer.from('2024-01-01|1').toString('base64url') }, 'cursor'],
    [{ from: '2024-13-01' }, 'from'],
    [{ from: '2024-02-02', to: '2024-02-01' }, 'from'],
  ])('audit: %j is a 400 on %s', (q, param) => {
    expect(() => parseAuditQuery(q)).toThrow(invalid(param));
  });

  it('cursors round-trip and are opaque', () => {
    const c = { createdAt: '2023-06-01T12:00:09.000000Z', id: '9223372036854775807' };
    const text = encodeCursor(c);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(c);
  });
});
