// A process's CPU time so far (user + system, every thread), from /proc/<pid>/stat: the bench
// scripts read it before and after a run to report CPU per request.
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU milliseconds `pid` has used (10 ms resolution). */
export function cpuMs(pid) {
  // Fields after the command name, which may hold spaces, closed by ") ": utime is 14th, stime 15th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}
