import { parseCacheControl } from './cache-controls';

describe('parseCacheControl', () => {
  it.each([
    [undefined, true, true],
    ['', true, true],
    ['max-age=0', true, true],
    ['no-cache', false, true],
    ['No-Cache', false, true],
    ['max-age=0, no-cache', false, true],
    ['no-store', false, false],
    ['no-cache, no-store', false, false],
    ['no-store,no-cache', false, false],
    ['private, NO-STORE', false, false],
    ['no-cache="set-cookie"', false, true],
  ])('%p → lookup %p, store %p', (header, lookup, store) => {
    expect(parseCacheControl(header)).toEqual({ lookup, store });
  });
});
