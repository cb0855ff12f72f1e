import { CoalesceWaiters } from './coalesce-waiters';

describe('CoalesceWaiters', () => {
  it('delivers the leader signal to every waiter of that lock only', async () => {
    const w = new CoalesceWaiters();
    const a = w.register('lock-a')!;
    const b = w.register('lock-a')!;
    const c = w.register('lock-c')!;
    w.deliver('lock-a', 'ok');
    await expect(a.signal).resolves.toBe('ok');
    await expect(b.signal).resolves.toBe('ok');
    expect(w.size).toBe(1);
    c.cancel();
    await expect(c.signal).resolves.toBe('fail');
    expect(w.size).toBe(0);
  });

  it('is bounded: past the cap a request gets no waiter', () => {
    const w = new CoalesceWaiters(2);
    expect(w.register('x')).not.toBeNull();
    const second = w.register('y')!;
    expect(w.register('z')).toBeNull();
    second.cancel();
    expect(w.register('z')).not.toBeNull();
  });

  it('ignores signals nobody waits for', () => {
    const w = new CoalesceWaiters();
    expect(() => w.deliver('nobody', 'fail')).not.toThrow();
  });
});
