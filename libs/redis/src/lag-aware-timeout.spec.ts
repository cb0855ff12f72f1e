import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { COMMAND_TIMED_OUT, lagAwareTimeout } from './lag-aware-timeout';

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the event loop is blocked, as under CPU saturation or a long GC pause
  }
}

describe('lagAwareTimeout', () => {
  it('passes a result through and rejects work that never settles', async () => {
    await expect(lagAwareTimeout(Promise.resolve(7), 50)).resolves.toBe(7);
    await expect(lagAwareTimeout(Promise.reject(new Error('boom')), 50)).rejects.toThrow('boom');
    const started = Date.now();
    await expect(lagAwareTimeout(new Promise(() => undefined), 30)).rejects.toThrow(
      COMMAND_TIMED_OUT,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('counts a reply that arrived while the event loop was blocked past the deadline as in time', async () => {
    // The echo server runs in another process, so it answers while this one is blocked.
    const echo = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('net').createServer((c) => { c.on('error', () => {}); c.on('data', (d) => c.write(d)); });
         s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(echo.stdout, 'data')) as [Buffer];
      const socket = connect(Number(line.toString().trim()), '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const reply = new Promise<string>((resolve) =>
        socket.once('data', (d: Buffer) => resolve(d.toString())),
      );
      const guarded = lagAwareTimeout(reply, 20);
      socket.write('pong');
      // The echo is back within a millisecond, but nothing reads it until this loop is free,
      // 100 ms later: by then the 20 ms timer has expired too, and timers run before I/O.
      busyWait(100);
      await expect(guarded).resolves.toBe('pong');
      socket.destroy();
    } finally {
      echo.kill();
    }
  });
});
