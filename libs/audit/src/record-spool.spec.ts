import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from './audit-record';
import { decodeLines, encodeLine, RecordSpool, SpoolFullError } from './record-spool';

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    requestId: `req-${randomBytes(6).toString('hex')}`,
    tenantId: randomUUID(),
    apiKeyId: randomUUID(),
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
    endpoint: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    providerModel: 'gpt-4o-mini-2024-07-18',
    statusCode: 200,
    outcome: 'success',
    promptTokens: 12,
    completionTokens: 15,
    costUnits: 108_000,
    costSavedUnits: 0,
    latencyMs: 40,
    upstreamLatencyMs: 35,
    cached: false,
    attempts: [{ provider: 'openai', outcome: 'success', latency_ms: 35 }],
    errorCode: null,
    ...overrides,
  };
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.startsWith('segment-')).sort();
}

/** Every record the spool would replay, in order. */
async function drain(spool: RecordSpool): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (;;) {
    const segment = await spool.nextForReplay();
    if (!segment) return out;
    out.push(...(await spool.read(segment)).records);
    await spool.remove(segment);
  }
}

describe('RecordSpool', () => {
  let dir: string;
  const open: RecordSpool[] = [];
  async function openSpool(maxBytes = 1024 * 1024): Promise<RecordSpool> {
    const spool = await RecordSpool.open(dir, maxBytes);
    open.push(spool);
    return spool;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmgw-spool-spec-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends records that read back exactly, and survive closing and reopening', async () => {
    const spool = await openSpool();
    const first = [record(), record({ model: 'a "quoted"\nmodel', provider: null })];
    const second = [record({ createdAt: new Date('2026-01-01T00:00:00.001Z'), cached: true })];
    await spool.append(first);
    await spool.append(second);
    expect(spool.records).toBe(3);
    expect(spool.oldestMs).toBe(Date.parse('2026-01-01T00:00:00.001Z'));
    const bytes = spool.bytes;
    expect(bytes).toBe(
      [...first, ...second].map((r) => Buffer.byteLength(encodeLine(r))).reduce((a, b) => a + b),
    );
    await spool.close();

    const again = await openSpool();
    expect(again.records).toBe(3);
    expect(again.bytes).toBe(bytes);
    expect(again.oldestMs).toBe(Date.parse('2026-01-01T00:00:00.001Z'));
    expect(await drain(again)).toEqual([...first, ...second]);
    expect(again.records).toBe(0);
    expect(again.oldestMs).toBeNull();
    expect(await segmentFiles(dir)).toEqual([]);
  });

  it('writes lines as "<crc32 hex> <json>\\n"', () => {
    const r = record();
    const line = encodeLine(r);
    expect(line).toMatch(/^[0-9a-f]{8} \{.*\}\n$/);
    expect(JSON.parse(line.slice(9))).toMatchObject({
      requestId: r.requestId,
      createdAt: r.createdAt.toISOString(),
    });
  });

  it('shares one fdatasync among appends that arrive while one is in progress (group fsync)', async () => {
    const spool = await openSpool();
    await spool.append([record()]); // opens the segment file
    const probe = await fs.open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const datasync = jest.spyOn(proto, 'datasync');
    try {
      await Promise.all(Array.from({ length: 100 }, () => spool.append([record()])));
      expect(spool.records).toBe(101);
      // The first append's sync runs alone; every later one queued behind it shares the next.
      expect(datasync.mock.calls.length).toBeLessThanOrEqual(3);
    } finally {
      datasync.mockRestore();
    }
  });

  it('refuses an append past AUDIT_SPOOL_MAX_BYTES without writing any of it, and has room again after a replay', async () => {
    const lineBytes = Buffer.byteLength(encodeLine(record()));
    const spool = await openSpool(lineBytes * 5 + 10);
    await spool.append([record(), record(), record(), record()]);
    await expect(spool.append([record(), record()])).rejects.toBeInstanceOf(SpoolFullError);
    expect(spool.records).toBe(4);
    await spool.append([record()]);
    expect(spool.records).toBe(5);
    await expect(spool.append([record()])).rejects.toBeInstanceOf(SpoolFullError);

    expect(await drain(spool)).toHaveLength(5);
    await spool.append([record(), record()]);
    expect(spool.records).toBe(2);
  });

  it('cuts off a torn last line (a crash mid-append) and keeps every complete record', async () => {
    const kept = [record(), record()];
    const torn = encodeLine(record());
    const name = join(dir, 'segment-000000000007.spool');
    await fs.writeFile(name, kept.map(encodeLine).join('') + torn.slice(0, torn.length / 2));

    const spool = await openSpool();
    expect(spool.tornBytesAtOpen).toBe(Buffer.byteLength(torn.slice(0, torn.length / 2)));
    expect(spool.records).toBe(2);
    expect((await fs.readFile(name, 'utf8')).endsWith('\n')).toBe(true);

    // New appends go to a new segment, never glued onto the cut one.
    const later = record();
    await spool.append([later]);
    expect(await segmentFiles(dir)).toEqual([
      'segment-000000000007.spool',
      'segment-000000000008.spool',
    ]);
    await spool.close();
    const again = await openSpool();
    expect(again.tornBytesAtOpen).toBe(0);
    expect((await drain(again)).map((r) => r.requestId)).toEqual(
      [...kept, later].map((r) => r.requestId),
    );
  });

  it('skips and counts a complete line whose checksum does not match', () => {
    const [a, b, c] = [record(), record(), record()];
    const bad = encodeLine(b).replace('"gpt-4o-mini"', '"gpt-4o-maxi"');
    const decoded = decodeLines(encodeLine(a) + bad + encodeLine(c) + 'garbage\n');
    expect(decoded.records.map((r) => r.requestId)).toEqual([a.requestId, c.requestId]);
    expect(decoded.corrupt).toBe(2);
    expect(decoded.tornBytes).toBe(0);
  });

  it('seals the active segment for replay; records appended meanwhile go to the next one', async () => {
    const spool = await openSpool();
    const early = [record(), record()];
    await spool.append(early);
    const segment = await spool.nextForReplay();
    expect(segment).not.toBeNull();
    const late = record();
    await spool.append([late]);
    expect((await spool.read(segment!)).records.map((r) => r.requestId)).toEqual(
      early.map((r) => r.requestId),
    );
    await spool.remove(segment!);
    expect(spool.records).toBe(1);
    expect((await drain(spool)).map((r) => r.requestId)).toEqual([late.requestId]);
  });

  it('keeps counting records while their segment is being sealed (depth never dips to 0 early)', async () => {
    const spool = await openSpool();
    await spool.append([record(), record(), record()]);
    const seen = new Set<number>();
    let done = false;
    const sealing = spool.nextForReplay().then(() => (done = true));
    while (!done) {
      seen.add(spool.records);
      await new Promise((r) => setImmediate(r));
    }
    await sealing;
    expect([...seen]).toEqual([3]);
  });

  it('refuses a directory another live process holds, and takes over a dead one', async () => {
    await fs.writeFile(join(dir, 'LOCK'), `${hostname()} ${process.ppid} abcd\n`);
    await expect(RecordSpool.open(dir, 1024 * 1024)).rejects.toThrow(/in use by process/);
    // Another host (a shared volume): held while its owner keeps touching it, free once stale.
    await fs.writeFile(join(dir, 'LOCK'), `other-host 1 abcd\n`);
    await expect(RecordSpool.open(dir, 1024 * 1024)).rejects.toThrow(/on other-host/);
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(join(dir, 'LOCK'), old, old);
    await (await RecordSpool.open(dir, 1024 * 1024)).close();
    await fs.writeFile(join(dir, 'LOCK'), `${hostname()} 999999999 abcd\n`);
    const spool = await openSpool();
    await spool.append([record()]);
    expect(spool.records).toBe(1);
  });

  it('keeps records Postgres refused in rejected.spool, apart from what is replayed', async () => {
    const spool = await openSpool();
    const bad = record({ promptTokens: 2 ** 31 });
    await spool.reject([bad]);
    expect(spool.records).toBe(0);
    const text = await fs.readFile(join(dir, 'rejected.spool'), 'utf8');
    expect(decodeLines(text).records).toEqual([bad]);
    expect(await spool.nextForReplay()).toBeNull();
  });
});
