/*
 * The estimate of the offset between this host's clock and Redis's, and the script deadlines
 * built on it.
 */

/*
 * A script that reaches Redis later than its window — the command timeout, or the wider one of a
 * resent STALE script — plus this margin (for the error of the clock-offset estimate) does nothing
 * (STALE): after a freeze (SIGSTOP), Redis would otherwise
 * run every queued admission whose caller already gave up and fell back, taking slots and
 * reserving budget nobody will settle.
 */
const STALE_MARGIN_MS = 20;
/** Until the offset is known, hosts are assumed NTP-synchronised to within this. */
const UNKNOWN_OFFSET_MARGIN_MS = 1_000;
/** Clock-offset samples are trusted only from quick round trips. */
const OFFSET_SAMPLE_MAX_RTT_MS = 50;

/**
 * Used only for the scripts' stale-deadline and for choosing the month before asking Redis.
 * Samples are Redis times read between `sent` and `received` (local ms).
 */
export class RedisAdmissionClock {
  private offsetMs: number | null = null;

  /** Redis's clock as best known here (ms). */
  nowMs(): number {
    return Date.now() + (this.offsetMs ?? 0);
  }

  /** Redis time (µs) after which a script sent now does nothing: `windowMs` from now, plus a margin. */
  deadlineUs(windowMs: number): number {
    const margin = this.offsetMs === null ? UNKNOWN_OFFSET_MARGIN_MS : STALE_MARGIN_MS;
    return Math.floor((Date.now() + (this.offsetMs ?? 0) + windowMs + margin) * 1000);
  }

  /** A script's reply element holding Redis's time (µs). */
  sampleReply(redisUs: string | number | undefined, sent: number, received: number): void {
    if (received - sent <= OFFSET_SAMPLE_MAX_RTT_MS) {
      const nowUs = Number(redisUs);
      if (Number.isFinite(nowUs) && nowUs > 0) this.offsetMs = nowUs / 1000 - (sent + received) / 2;
    }
  }

  /** TIME's reply (seconds, microseconds). */
  sampleTime(sec: string | number, micro: string | number, sent: number, received: number): void {
    if (received - sent <= OFFSET_SAMPLE_MAX_RTT_MS) {
      this.offsetMs = Number(sec) * 1000 + Number(micro) / 1000 - (sent + received) / 2;
    }
  }
}
