import { inlineParams } from './postgres-budget.store';

describe('inlineParams', () => {
  it('inlines strings as escaped literals and numbers as they are', () => {
    expect(inlineParams('SELECT $1::text, $2, $3', ["it's", 42, 0.5])).toBe(
      "SELECT 'it''s'::text, 42, 0.5",
    );
  });

  it('does not mistake $1 for the start of $10', () => {
    expect(inlineParams('SELECT $1, $10', ['a'])).toBe("SELECT 'a', $10");
  });

  it('escapes backslashes the way Postgres reads them', () => {
    expect(inlineParams('SELECT $1', ['a\\b'])).toBe("SELECT  E'a\\\\b'");
  });

  it('refuses missing values and non-finite numbers', () => {
    expect(() => inlineParams('SELECT $2', ['a'])).toThrow('no value for $2');
    expect(() => inlineParams('SELECT $1', [Number.NaN])).toThrow('not a finite number');
  });
});
