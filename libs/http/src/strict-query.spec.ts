import { GatewayError } from '@gateway/errors';
import { checkQuery } from './strict-query';

function refusal(url: string, allowed: string[]): { param: string | null; message: string } | null {
  try {
    checkQuery(url, new Set(allowed));
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    expect([e.status, e.code]).toEqual([400, 'invalid_request']);
    return { param: e.param, message: e.message };
  }
}

describe('checkQuery', () => {
  const audit = ['tenant_id', 'from', 'limit'];

  it('accepts declared names once each, empty values and no query', () => {
    expect(refusal('/a', audit)).toBeNull();
    expect(refusal('/a?', audit)).toBeNull();
    expect(refusal('/a?tenant_id=x&limit=5&from=', audit)).toBeNull();
    expect(refusal('/a?limit=5#frag', audit)).toBeNull();
    expect(refusal('/a?tenant%5Fid=x', audit)).toBeNull();
  });

  it('refuses an unknown name, naming it', () => {
    expect(refusal('/a?tenant=x', audit)?.param).toBe('tenant');
    expect(refusal('/a?x=1', [])?.message).toContain('accepts: none');
    expect(refusal('/a?=1', audit)?.param).toBe('');
  });

  it('refuses a known name given twice', () => {
    const r = refusal('/a?limit=1&limit=2', audit);
    expect(r).toEqual({
      param: 'limit',
      message: "Query parameter 'limit' may be given only once.",
    });
  });

  it('refuses bracket forms, however they are encoded', () => {
    expect(refusal('/a?tenant_id[$ne]=x', audit)?.param).toBe('tenant_id[$ne]');
    expect(refusal('/a?tenant_id%5B%24ne%5D=x', audit)?.param).toBe('tenant_id[$ne]');
    expect(refusal('/a?tenant_id[]=x', audit)?.param).toBe('tenant_id[]');
    expect(refusal('/a?limit=1&from]=2', audit)?.param).toBe('from]');
  });

  it('quotes a name bounded and without control characters', () => {
    const r = refusal(`/a?${'n'.repeat(10_000)}%0A=1`, audit);
    expect(r?.param).toBe(`${'n'.repeat(64)}…`);
    expect(r?.message.length).toBeLessThan(200);
    expect(refusal('/a?x%0Ay=1', audit)?.param).toBe('x\\u000ay');
  });

  it('refuses a value PostgreSQL cannot store', () => {
    expect(refusal('/a?tenant_id=%00', audit)?.param).toBe('tenant_id');
    expect(refusal('/a?from=x%00y', audit)?.message).toContain('NUL');
    expect(refusal('/a?from=%0A%01', audit)).toBeNull();
  });
});
