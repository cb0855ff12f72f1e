import { TurnBatcher } from './turn-batcher';

describe('TurnBatcher', () => {
  it('sends the items of one turn once per group, in order, and resolves each add after its send', async () => {
    const sent: string[][] = [];
    const batcher = new TurnBatcher<string>((items) => {
      sent.push(items);
      return Promise.resolve();
    });
    const a = batcher.add('t1', 'a');
    const b = batcher.add('t2', 'b');
    const c = batcher.add('t1', 'c');
    expect(sent).toEqual([]); // nothing before the next turn
    await Promise.all([a, b, c]);
    expect(sent).toEqual([['a', 'c'], ['b']]);

    await batcher.add('t1', 'd'); // a later turn is a new batch
    expect(sent).toEqual([['a', 'c'], ['b'], ['d']]);
  });

  it('resolves the batch even if send rejects', async () => {
    const batcher = new TurnBatcher<number>(() => Promise.reject(new Error('boom')));
    await expect(batcher.add('g', 1)).resolves.toBeUndefined();
  });

  it('an add during a send starts the next batch', async () => {
    const sent: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new TurnBatcher<number>(async (items) => {
      sent.push(items);
      if (items[0] === 1) await gate;
    });
    const first = batcher.add('g', 1);
    await new Promise((r) => setImmediate(r));
    const second = batcher.add('g', 2);
    await second;
    expect(sent).toEqual([[1], [2]]);
    release();
    await first;
  });
});
