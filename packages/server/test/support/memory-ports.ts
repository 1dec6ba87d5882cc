// In-memory ports for the Raft core: a log and a meta store that can "crash", losing what was
// not flushed, so restarts can be tested without @copycat/storage.
import type { HardState, LogEntry, MetaPort, RaftLog } from '../../src/raft/ports.js';

export class MemoryRaftLog implements RaftLog {
  entries: LogEntry[] = [];
  /** Entries [1, durableLength] survive a crash. */
  durableLength = 0;

  get firstIndex(): number {
    return 1;
  }
  get lastIndex(): number {
    return this.entries.length;
  }
  get lastTerm(): number {
    return this.entries.at(-1)?.term ?? 0;
  }
  termAt(index: number): number | undefined {
    return index === 0 ? 0 : this.entries[index - 1]?.term;
  }
  get(index: number): LogEntry | undefined {
    return this.entries[index - 1];
  }
  append(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (entry.index !== this.entries.length + 1)
        throw new Error(`append out of order: ${entry.index} after ${this.entries.length}`);
      this.entries.push(entry);
    }
  }
  truncate(index: number): void {
    this.entries.length = Math.min(this.entries.length, index);
    this.durableLength = Math.min(this.durableLength, index);
  }
  flush(): Promise<void> {
    const upTo = this.entries.length;
    return Promise.resolve().then(() => {
      this.durableLength = Math.max(this.durableLength, Math.min(upTo, this.entries.length));
    });
  }
  /** A crash: with `loseUnflushed`, entries never flushed are gone. */
  crash(loseUnflushed: boolean): void {
    if (loseUnflushed) this.entries.length = this.durableLength;
  }
}

export class MemoryMeta implements MetaPort {
  private durable: HardState = { term: 0, votedFor: undefined, configuration: undefined };
  stores = 0;

  load(): HardState {
    return this.durable;
  }
  store(state: HardState): Promise<void> {
    return Promise.resolve().then(() => {
      this.durable = state;
      this.stores++;
    });
  }
}
