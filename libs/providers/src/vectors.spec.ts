import { float32FromBase64, float32FromBytes, float32ToBase64 } from './vectors';

describe('float32 vectors ⇄ base64', () => {
  it('round-trips exactly, little-endian like OpenAI', () => {
    const v = Float32Array.from([0.0023064255, -1, 3.5e-8, 0]);
    const text = float32ToBase64(v);
    expect(Buffer.from(text, 'base64').readFloatLE(4)).toBe(-1);
    expect(float32FromBase64(text)).toEqual(v);
  });

  it('refuses what is not base64 of whole floats', () => {
    expect(float32FromBase64('AAAAAAA=')).toBeNull(); // 5 bytes
    expect(float32FromBase64('not base64!')).toBeNull();
    expect(float32FromBytes(Buffer.alloc(6))).toBeNull();
    expect(float32FromBase64('')).toEqual(new Float32Array(0));
  });
});
