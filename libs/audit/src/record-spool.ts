import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { AuditRecord } from './audit-record';

/*
 * The outage spool's files. A directory holds numbered segments (`segment-<n>.spool`), appended
 * to and never rewritten, plus `rejected.spool` (records Postgres refused for their content) and
 * a `LOCK` naming the process that owns the directory.
 *
 * Format (version 1), one record per line:
 *
 *   <crc32 of the JSON, 8 lowercase hex digits> <the record as JSON>\n
 *
 * `createdAt` is an ISO-8601 string; every other field is the AuditRecord's. A crash in the middle
 * of an append leaves a last line without its newline (a torn tail): it was never acknowledged, so
 * opening the directory cuts it off. A line whose checksum does not match (a disk that lied) is
 * skipped and counted, never replayed half-read.
 */

const SEGMENT_PREFIX = 'segment-';
const SEGMENT_SUFFIX = '.spool';
const REJECTED_FILE = 'rejected.spool';
const LOCK_FILE = 'LOCK';
/** A segment is sealed past this size, so one replay step reads a bounded file. */
const SEGMENT_MAX_BYTES = 8 * 1024 * 1024;
/** The owner touches LOCK this often; a lock from another host older than LOCK_STALE_MS is free. */
const LOCK_HEARTBEAT_MS = 10_000;
const LOCK_STALE_MS = 30_000;
/** The rejected file only grows by hand-inspected records; cap it like the spool itself. */
const REJECTED_MAX_BYTES = 64 * 1024 * 1024;

/** The spool cannot take more: it is at AUDIT_SPOOL_MAX_BYTES. */
export class SpoolFullError extends Error {
  constructor(maxBytes: number) {
    super(`audit spool is full (${maxBytes} bytes)`);
    this.name = 'SpoolFullError';
  }
}

/** A file of spooled records; `records`, `bytes` and `oldestMs` cover its complete lines. */
export interface SpoolSegment {
  readonly seq: number;
  readonly path: string;
  records: number;
  bytes: number;
  /** `createdAt` of its oldest record (epoch ms), or null when empty. */
  oldestMs: number | null;
}

export interface SegmentContents {
  readonly records: AuditRecord[];
  /** Complete lines that failed their checksum or did not parse. */
  readonly corrupt: number;
}

interface Append {
  readonly buf: Buffer;
  readonly records: number;
  readonly oldestMs: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export function encodeLine(record: AuditRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/**
 * Parses a segment's text. Everything after the last newline is a torn tail (`tornBytes`); a
 * complete line is kept only if its checksum matches and it parses.
 */
export function decodeLines(text: string): SegmentContents & { tornBytes: number } {
  const end = text.lastIndexOf('\n') + 1;
  const tornBytes = Buffer.byteLength(text.slice(end));
  const records: AuditRecord[] = [];
  let corrupt = 0;
  let start = 0;
  while (start < end) {
    const nl = text.indexOf('\n', start);
    const line = text.slice(start, nl);
    start = nl + 1;
    const record = decodeLine(line);
    if (record) records.push(record);
    else corrupt++;
  }
  return { records, corrupt, tornBytes };
}

function decodeLine(line: string): AuditRecord | null {
  if (line.length < 10 || line[8] !== ' ') return null;
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return null;
  try {
    const parsed = JSON.parse(json) as AuditRecord & { createdAt: string };
    const createdAt = new Date(parsed.createdAt);
    if (typeof parsed.requestId !== 'string' || Number.isNaN(createdAt.getTime())) return null;
    return { ...parsed, createdAt };
  } catch {
    return null;
  }
}

/**
 * An append-only, size-bounded local log of audit records for when Postgres cannot take them.
 *
 * Appends are group-committed: one write and one fdatasync at a time, and every append that
 * arrives meanwhile shares the next one. An append resolves only once its bytes are on disk.
 * Segments are sealed (closed) before they are replayed, so a replayer never reads a file that is
 * still growing; they are deleted once Postgres holds their records. One process per directory.
 */
export class RecordSpool {
  private readonly sealed: SpoolSegment[] = [];
  private active: { segment: SpoolSegment; file: fs.FileHandle } | null = null;
  private nextSeq: number;
  private queued: Append[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  /** Serialises file operations (flushes, seals): each runs after the previous one settled. */
  private chain: Promise<void> = Promise.resolve();
  private rejectedBytes: number;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    segments: SpoolSegment[],
    rejectedBytes: number,
    /** Records found unreadable when the directory was opened (checksum or parse failures). */
    readonly corruptAtOpen: number,
    /** Bytes of torn tails cut off when the directory was opened. */
    readonly tornBytesAtOpen: number,
  ) {
    this.sealed.push(...segments);
    this.nextSeq = segments.length === 0 ? 1 : segments[segments.length - 1].seq + 1;
    this.rejectedBytes = rejectedBytes;
    const lockPath = join(dir, LOCK_FILE);
    this.heartbeat = setInterval(() => {
      const now = new Date();
      fs.utimes(lockPath, now, now).catch(() => undefined);
    }, LOCK_HEARTBEAT_MS).unref();
  }

  /**
   * Opens (creating it if needed) and locks the directory, cuts torn tails off existing segments,
   * and counts what they hold: everything found is sealed and waits for replay.
   */
  static async open(dir: string, maxBytes: number): Promise<RecordSpool> {
    await fs.mkdir(dir, { recursive: true });
    await lock(dir);
    const segments: SpoolSegment[] = [];
    let corrupt = 0;
    let torn = 0;
    for (const name of (await fs.readdir(dir)).sort()) {
      const seq = segmentSeq(name);
      if (seq === null) continue;
      const path = join(dir, name);
      const text = await fs.readFile(path, 'utf8');
      const decoded = decodeLines(text);
      if (decoded.tornBytes > 0) {
        await fs.truncate(path, Buffer.byteLength(text) - decoded.tornBytes);
        torn += decoded.tornBytes;
      }
      if (decoded.records.length === 0 && decoded.corrupt === 0) {
        await fs.unlink(path);
        continue;
      }
      corrupt += decoded.corrupt;
      segments.push({
        seq,
        path,
        records: decoded.records.length,
        bytes: Buffer.byteLength(text) - decoded.tornBytes,
        oldestMs: oldest(decoded.records),
      });
    }
    const rejectedBytes = await fs
      .stat(join(dir, REJECTED_FILE))
      .then((s) => s.size)
      .catch(() => 0);
    return new RecordSpool(dir, maxBytes, segments, rejectedBytes, corrupt, torn);
  }

  /** Records in the spool (not yet replayed), including those being appended. */
  get records(): number {
    let n = this.active?.segment.records ?? 0;
    for (const s of this.sealed) n += s.records;
    return n;
  }

  /** Bytes on disk plus bytes accepted and not yet written. */
  get bytes(): number {
    let n = (this.active?.segment.bytes ?? 0) + this.queuedBytes;
    for (const s of this.sealed) n += s.bytes;
    return n;
  }

  /** `createdAt` (epoch ms) of the oldest spooled record, or null when the spool is empty. */
  get oldestMs(): number | null {
    let min: number | null = null;
    for (const s of [...this.sealed, ...(this.active ? [this.active.segment] : [])]) {
      if (s.oldestMs !== null && (min === null || s.oldestMs < min)) min = s.oldestMs;
    }
    return min;
  }

  /**
   * Appends the records and resolves once they are on disk; concurrent appends share one write
   * and one fdatasync. Rejects with SpoolFullError, without writing anything, when the records
   * would take the spool past its bound, and with the file system's error when it fails.
   */
  append(records: readonly AuditRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('audit spool is closed'));
    if (records.length === 0) return Promise.resolve();
    const buf = Buffer.from(records.map(encodeLine).join(''), 'utf8');
    if (this.bytes + buf.length > this.maxBytes) {
      return Promise.reject(new SpoolFullError(this.maxBytes));
    }
    this.queuedBytes += buf.length;
    return new Promise<void>((resolve, reject) => {
      this.queued.push({
        buf,
        records: records.length,
        oldestMs: oldest(records) ?? 0,
        resolve,
        reject,
      });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        void this.serial(() => this.flush());
      }
    });
  }

  /**
   * The oldest segment to replay, sealing the active one first if no sealed segment is left; null
   * when the spool is empty. The segment stays counted until `remove`.
   */
  async nextForReplay(): Promise<SpoolSegment | null> {
    if (this.sealed.length === 0) await this.serial(() => this.sealActive());
    return this.sealed[0] ?? null;
  }

  async read(segment: SpoolSegment): Promise<SegmentContents> {
    const { records, corrupt } = decodeLines(await fs.readFile(segment.path, 'utf8'));
    return { records, corrupt };
  }

  /** Deletes a replayed segment. */
  async remove(segment: SpoolSegment): Promise<void> {
    const i = this.sealed.indexOf(segment);
    if (i >= 0) this.sealed.splice(i, 1);
    await fs.unlink(segment.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /**
   * Keeps records Postgres refused for their content in `rejected.spool` (same format), for an
   * operator to inspect: they are never replayed. Rejects when that file is at its own bound.
   */
  async reject(records: readonly AuditRecord[]): Promise<void> {
    const buf = Buffer.from(records.map(encodeLine).join(''), 'utf8');
    if (this.rejectedBytes + buf.length > REJECTED_MAX_BYTES) {
      throw new SpoolFullError(REJECTED_MAX_BYTES);
    }
    this.rejectedBytes += buf.length;
    await this.serial(async () => {
      const file = await fs.open(join(this.dir, REJECTED_FILE), 'a', 0o600);
      try {
        await file.write(buf);
        await file.datasync();
      } finally {
        await file.close();
      }
    });
  }

  /** Waits for appends in progress, closes the active segment and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.serial(() => this.sealActive());
    await fs.unlink(join(this.dir, LOCK_FILE)).catch(() => undefined);
  }

  private serial(op: () => Promise<void>): Promise<void> {
    const run = this.chain.then(op);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queued;
    this.queued = [];
    const bytes = batch.reduce((n, a) => n + a.buf.length, 0);
    try {
      const active = await this.activeSegment();
      await active.file.writev(batch.map((a) => a.buf));
      await active.file.datasync();
      const s = active.segment;
      for (const a of batch) {
        s.records += a.records;
        if (s.oldestMs === null || a.oldestMs < s.oldestMs) s.oldestMs = a.oldestMs;
      }
      s.bytes += bytes;
      this.queuedBytes -= bytes;
      for (const a of batch) a.resolve();
      if (s.bytes >= SEGMENT_MAX_BYTES) await this.sealActive();
    } catch (err) {
      this.queuedBytes -= bytes;
      for (const a of batch) a.reject(err);
      // Part of the write may be on disk without its newline: later lines must not be glued to
      // it, so the segment ends here (opening it again cuts the torn tail off).
      await this.sealActive().catch(() => undefined);
    }
  }

  private async activeSegment(): Promise<{ segment: SpoolSegment; file: fs.FileHandle }> {
    if (this.active) return this.active;
    const seq = this.nextSeq++;
    const path = join(
      this.dir,
      `${SEGMENT_PREFIX}${String(seq).padStart(12, '0')}${SEGMENT_SUFFIX}`,
    );
    const file = await fs.open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_APPEND, 0o600);
    // The new name must survive a crash too, not only the bytes written to it.
    await syncDir(this.dir);
    this.active = { segment: { seq, path, records: 0, bytes: 0, oldestMs: null }, file };
    return this.active;
  }

  private async sealActive(): Promise<void> {
    const active = this.active;
    if (!active) return;
    this.active = null;
    // Counted as sealed at once: while the close is awaited, the records are still in the spool.
    if (active.segment.records > 0) this.sealed.push(active.segment);
    await active.file.close().catch(() => undefined);
    if (active.segment.records === 0) await fs.unlink(active.segment.path).catch(() => undefined);
  }
}

function segmentSeq(name: string): number | null {
  if (!name.startsWith(SEGMENT_PREFIX) || !name.endsWith(SEGMENT_SUFFIX)) return null;
  const n = Number(name.slice(SEGMENT_PREFIX.length, -SEGMENT_SUFFIX.length));
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

function oldest(records: readonly AuditRecord[]): number | null {
  let min: number | null = null;
  for (const r of records) {
    const t = r.createdAt.getTime();
    if (min === null || t < min) min = t;
  }
  return min;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Takes the directory for this process. Two live processes appending to and replaying one
 * directory would delete each other's records, so the boot stops on a lock held by another live
 * process on this host, or by another host within LOCK_STALE_MS (its owner touches it every
 * LOCK_HEARTBEAT_MS: a shared volume). A lock left by a dead process, or by this pid (a container
 * restarted as pid 1 again), is taken over.
 */
async function lock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  try {
    const [existing, stat] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
    const [host, pidText] = existing.trim().split(' ');
    const pid = Number(pidText);
    const held =
      host === hostname()
        ? pid !== process.pid && isAlive(pid)
        : Date.now() - stat.mtimeMs < LOCK_STALE_MS;
    if (held) {
      throw new Error(
        `audit spool directory ${dir} is in use by process ${pid} on ${host}; give each gateway process its own AUDIT_SPOOL_DIR`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.writeFile(path, `${hostname()} ${process.pid} ${randomBytes(4).toString('hex')}\n`, {
    mode: 0o600,
  });
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
