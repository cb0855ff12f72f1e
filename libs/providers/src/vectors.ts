/*
 * Float32 vectors ⇄ OpenAI's base64 embedding encoding: the vector's float32 values, little-endian,
 * back to back. Read and written value by value with explicit byte order, so the result does not
 * depend on the host's endianness.
 */

/** The vector as OpenAI's `encoding_format: "base64"` sends it. */
export function float32ToBase64(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i], i * 4);
  return bytes.toString('base64');
}

/** Little-endian float32 bytes → a vector; null when the length is not a whole number of floats. */
export function float32FromBytes(bytes: Buffer): Float32Array | null {
  if (bytes.length % 4 !== 0) return null;
  const vector = new Float32Array(bytes.length / 4);
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
  return vector;
}

/** A base64 embedding → a vector; null when it is not base64 of whole float32 values. */
export function float32FromBase64(text: string): Float32Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return float32FromBytes(Buffer.from(text, 'base64'));
}
