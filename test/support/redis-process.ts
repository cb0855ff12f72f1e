import { type ChildProcess, spawn } from 'node:child_process';
import { sleep } from './wait';

/*
 * A throwaway redis-server on a given port, as a bare child process, for tests that kill it and
 * start it again on the same port (the gateway under test keeps its REDIS_URL). Never the shared
 * Redis on 6379. See redis-server.ts for the richer handle (freeze, restart, clusters).
 */

export { eventually } from './wait';

/** Starts redis-server without persistence on `port` and waits until it answers PING (5 s). */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 5_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = spawn('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
      let out = '';
      probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
      probe.on('exit', () => resolve(out.includes('PONG')));
    });
    if (ok) return child;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await sleep(50);
  }
}

/** SIGKILL (the data is gone) and wait for the exit; a no-op when it already exited. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
