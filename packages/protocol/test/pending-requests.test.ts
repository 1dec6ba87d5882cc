import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingRequests } from '../src/pending-requests.js';

interface Entry {
  readonly id: number;
  readonly label: string;
}

describe('PendingRequests', () => {
  it('hands out increasing ids and finds, takes and lists what was added', () => {
    const pending = new PendingRequests<Entry>();
    const ids = [pending.nextId(), pending.nextId(), pending.nextId()];
    expect(ids).toEqual([1, 2, 3]);
    for (const id of ids) pending.add({ id, label: `r${id}` });
    expect(pending.size).toBe(3);
    expect(pending.get(2)).toEqual({ id: 2, label: 'r2' });
    expect(pending.take(2)).toEqual({ id: 2, label: 'r2' });
    expect(pending.get(2)).toBeUndefined();
    expect(pending.take(2)).toBeUndefined();
    expect(pending.size).toBe(2);
    expect(pending.list().map((entry) => entry.id)).toEqual([1, 3]);
    pending.clear();
    expect(pending.size).toBe(0);
    expect(pending.list()).toEqual([]);
  });

  it('lists requests oldest first, across slots and across the wrap of ids', () => {
    const pending = new PendingRequests<Entry>();
    (pending as unknown as { lastId: number }).lastId = 0xffff_fffd;
    const ids = Array.from({ length: 3 }, () => pending.nextId()); // 0xfffffffe, 0xffffffff, then wrapped
    for (let i = 0; i < 6; i++) pending.take(pending.nextId()); // none added: later ids only
    for (const id of ids) pending.add({ id, label: '' });
    expect(ids[2]).toBeLessThan(10);
    expect(pending.list().map((entry) => entry.id)).toEqual(ids);
    pending.clear();
    expect(pending.list()).toEqual([]);
    expect((pending as unknown as { slots: unknown[] }).slots).toHaveLength(8); // shrunk back
  });

  it('does not mistake another id of the same slot for a pending request', () => {
    const pending = new PendingRequests<Entry>();
    const id = pending.nextId();
    pending.add({ id, label: 'a' });
    // 8 slots at first: id + 8 picks the same slot.
    expect(pending.get(id + 8)).toBeUndefined();
    expect(pending.take(id + 8)).toBeUndefined();
    expect(pending.size).toBe(1);
  });

  it('skips ids whose slot is taken by a request still pending (a straggler does not stop ids)', () => {
    const pending = new PendingRequests<Entry>();
    const straggler = pending.nextId(); // 1: stays pending
    pending.add({ id: straggler, label: 'slow' });
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const id = pending.nextId();
      expect(id).not.toBe(straggler);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
      pending.add({ id, label: 'quick' });
      expect(pending.take(id)?.id).toBe(id);
    }
    expect(pending.get(straggler)?.label).toBe('slow');
    // One request and one in flight: the table never needed to grow past its first slots.
    expect(pending.list()).toHaveLength(1);
  });

  it('grows as requests pile up, keeping every one findable', () => {
    const pending = new PendingRequests<Entry>();
    const ids: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = pending.nextId();
      ids.push(id);
      pending.add({ id, label: String(i) });
    }
    expect(new Set(ids).size).toBe(1000);
    expect(pending.size).toBe(1000);
    ids.forEach((id, i) => expect(pending.get(id)?.label).toBe(String(i)));
  });

  it('wraps below 2^32 and never hands out 0 or an id in use', () => {
    const pending = new PendingRequests<Entry>();
    // Walk the ids up to the end of their range with one request kept pending all along.
    (pending as unknown as { lastId: number }).lastId = 0xffff_fff0;
    const kept = pending.nextId();
    pending.add({ id: kept, label: 'kept' });
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) {
      const id = pending.nextId();
      ids.push(id);
      pending.add({ id, label: '' });
      pending.take(id);
    }
    expect(Math.max(...ids)).toBe(0xffff_ffff);
    expect(ids.some((id) => id < 100)).toBe(true); // wrapped (to 1, or the next id with a free slot)
    expect(ids).not.toContain(0);
    expect(ids).not.toContain(kept);
    expect(ids.every((id) => id > 0 && id <= 0xffff_ffff)).toBe(true);
  });

  it('keeps ids handed out before their requests are added apart (a send from inside an encoding)', () => {
    const pending = new PendingRequests<Entry>();
    // Ids reserved and not yet added can land in one slot once many are out: adding parts them.
    const reserved = Array.from({ length: 20 }, () => pending.nextId());
    for (const id of reserved.reverse()) pending.add({ id, label: String(id) });
    for (const id of reserved) expect(pending.get(id)?.id).toBe(id);
    expect(pending.size).toBe(20);
  });

  it('behaves as a map of the pending requests under any mix of operations (model check)', () => {
    type Step = { kind: 'send' } | { kind: 'answer'; pick: number } | { kind: 'stray'; id: number };
    const step = fc.oneof(
      fc.constant<Step>({ kind: 'send' }),
      fc.nat().map<Step>((pick) => ({ kind: 'answer', pick })),
      fc.integer({ min: 1, max: 5000 }).map<Step>((id) => ({ kind: 'stray', id })),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const pending = new PendingRequests<Entry>();
        const model = new Map<number, Entry>();
        for (const s of steps) {
          if (s.kind === 'send') {
            const id = pending.nextId();
            expect(model.has(id)).toBe(false);
            const entry = { id, label: 'x' };
            pending.add(entry);
            model.set(id, entry);
          } else if (s.kind === 'answer' && model.size > 0) {
            const id = [...model.keys()][s.pick % model.size]!;
            expect(pending.take(id)).toBe(model.get(id));
            model.delete(id);
          } else if (s.kind === 'stray') {
            expect(pending.get(s.id)).toBe(model.get(s.id));
          }
          expect(pending.size).toBe(model.size);
        }
        expect(new Set(pending.list())).toEqual(new Set(model.values()));
      }),
    );
  });
});
