/**
 * The block pool (segment.ts): appends reuse the memory of blocks already written to the file,
 * but never of a block a caller may still hold a view of.
 */
import { describe, expect, it } from 'vitest';
import { BlockPool, Segment } from '../src/segment.js';

const MiB = 1 << 20;

function segment(): Segment {
  return new Segment(
    {
      id: 1,
      version: 1,
      firstIndex: 1,
      lastId: 1,
      maxEntries: 1 << 20,
      maxBytes: 64 * MiB,
      preallocated: false,
    },
    'test-1-1.log',
  );
}

/** Appends `count` records of `size` bytes and marks everything written to the file. */
function fill(s: Segment, pool: BlockPool, count: number, size: number, first = s.lastStored + 1): void {
  for (let i = 0; i < count; i++) {
    const slot = s.reserve(size, pool);
    slot.bytes.fill((first + i) & 0xff, slot.at, slot.at + size);
    s.setOffset(first + i, slot.offset);
  }
  s.writtenEnd = s.size;
}

describe('BlockPool', () => {
  it('reuses the blocks that trim drops, for later appends', () => {
    const pool = new BlockPool();
    const s = segment();
    fill(s, pool, 3, MiB - 1000);
    const buffers = [1, 2].map((index) => s.read(s.offsetOf(index), s.endOf(index), true).bytes.buffer);
    s.trim(0, pool);
    expect(s.cachedBytes).toBe(MiB - 1000); // the open block stays
    fill(s, pool, 2, MiB - 1000);
    const reused = [4, 5].map((index) => s.read(s.offsetOf(index), s.endOf(index), true).bytes.buffer);
    // (Comparing ArrayBuffers with toBe would print megabytes on failure: compare identities.)
    expect(reused.map((buffer) => buffers.includes(buffer))).toEqual([true, true]);
  });

  it('never reuses a block a view was handed out of', () => {
    const pool = new BlockPool();
    const s = segment();
    fill(s, pool, 3, MiB - 1000);
    const view = s.read(s.offsetOf(1), s.endOf(1)).bytes; // not transient: the caller keeps it
    const held = view.slice();
    s.trim(0, pool);
    fill(s, pool, 4, MiB - 1000);
    expect(Buffer.compare(view, held)).toBe(0); // (toEqual on a MiB is slow)
    const buffers = [4, 5, 6, 7].map((index) => s.read(s.offsetOf(index), s.endOf(index), true).bytes.buffer);
    expect(buffers.some((buffer) => buffer === view.buffer)).toBe(false);
  });

  it('never reuses blocks that are not yet written to the file', () => {
    const pool = new BlockPool();
    const s = segment();
    fill(s, pool, 3, MiB - 1000);
    s.writtenEnd = s.offsetOf(2); // block 2 and 3 still to write
    s.trim(0, pool);
    expect(s.cachedBytes).toBe(2 * (MiB - 1000));
    expect(s.read(s.offsetOf(2), s.endOf(3), false).bytes.length).toBe(2 * (MiB - 1000));
  });
});
