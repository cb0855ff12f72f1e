import { inputTokenUpperBound, promptTokenUpperBound } from './prompt-token-bound';

describe('promptTokenUpperBound', () => {
  it('counts UTF-8 bytes plus template allowances', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'héllo 👋' },
    ];
    // 64 + (16 + 6 + 9) + (16 + 4 + 11)
    expect(promptTokenUpperBound(messages)).toBe(126);
  });

  it('is at least the token count of a byte-level BPE (each token ≥ 1 byte)', () => {
    const text = '日本語のテキスト and some English, 1234567890 !!!';
    expect(promptTokenUpperBound([{ role: 'user', content: text }])).toBeGreaterThan(
      Buffer.byteLength(text),
    );
  });

  it('costs well under 0.5 ms for a 1 MiB prompt', () => {
    const big = 'x'.repeat(512 * 1024) + 'é'.repeat(256 * 1024);
    const messages = [{ role: 'user', content: big }];
    promptTokenUpperBound(messages); // warm up
    const start = process.hrtime.bigint();
    for (let i = 0; i < 20; i++) promptTokenUpperBound(messages);
    const perCallMs = Number(process.hrtime.bigint() - start) / 20 / 1e6;
    expect(perCallMs).toBeLessThan(0.5);
  });
});

describe('inputTokenUpperBound', () => {
  it('counts UTF-8 bytes plus a per-input allowance', () => {
    // (8 + 5) + (8 + 11)
    expect(inputTokenUpperBound(['hello', 'héllo 👋'])).toBe(32);
  });
});
