/**
 * Gathers the items added during one turn of the event loop into one `send` per group, run on the
 * next turn (setImmediate). Under load many requests finish in the same turn (their Redis replies
 * arrive in one read), so a per-request write becomes one write per group per turn; alone, an item
 * waits no longer than the rest of its own turn.
 */
export class TurnBatcher<T> {
  private groups = new Map<string, Group<T>>();
  private scheduled = false;

  /** `send` gets the items of one group, in the order added; it must not reject. */
  constructor(private readonly send: (items: T[]) => Promise<void>) {}

  /** Resolves when the batch holding `item` has been sent. */
  add(group: string, item: T): Promise<void> {
    let g = this.groups.get(group);
    if (!g) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      g = { items: [], done, resolve };
      this.groups.set(group, g);
    }
    g.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return g.done;
  }

  private flush(): void {
    const groups = this.groups;
    this.groups = new Map();
    this.scheduled = false;
    for (const g of groups.values()) {
      const settle = () => g.resolve();
      void this.send(g.items).then(settle, settle);
    }
  }
}

interface Group<T> {
  readonly items: T[];
  readonly done: Promise<void>;
  readonly resolve: () => void;
}
