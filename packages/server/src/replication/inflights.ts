/**
 * Flow control for one follower's pipeline: how many append batches are unacknowledged and
 * how many bytes they carry. The leader stops sending new batches while either bound is
 * reached, so a slow follower costs bounded memory (like etcd's tracker/inflights.go).
 */
export class Inflights {
  private readonly batches: { lastIndex: number; bytes: number }[] = [];
  private totalBytes = 0;

  constructor(
    readonly maxBatches: number,
    readonly maxBytes: number,
  ) {
    if (maxBatches < 1) throw new RangeError('maxBatches must be >= 1');
    if (maxBytes < 1) throw new RangeError('maxBytes must be >= 1');
  }

  get count(): number {
    return this.batches.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** True when no further batch may be sent. One batch is always allowed, whatever its size. */
  get full(): boolean {
    return (
      this.batches.length >= this.maxBatches || (this.batches.length > 0 && this.totalBytes >= this.maxBytes)
    );
  }

  add(lastIndex: number, bytes: number): void {
    const last = this.batches.at(-1);
    if (last !== undefined && lastIndex <= last.lastIndex) {
      throw new RangeError(`inflight batches must grow: ${lastIndex} after ${last.lastIndex}`);
    }
    this.batches.push({ lastIndex, bytes });
    this.totalBytes += bytes;
  }

  /** Frees every batch whose last index is <= `index` (they were acknowledged). */
  freeTo(index: number): void {
    let freed = 0;
    while (freed < this.batches.length && this.batches[freed]!.lastIndex <= index) {
      this.totalBytes -= this.batches[freed]!.bytes;
      freed++;
    }
    if (freed > 0) this.batches.splice(0, freed);
  }

  reset(): void {
    this.batches.length = 0;
    this.totalBytes = 0;
  }
}
