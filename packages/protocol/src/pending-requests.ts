/**
 * The requests of a connection that wait for their responses, by id.
 *
 * Every request goes in and comes out again, so this is on the path of every round trip. A `Map`
 * hashes the id on each lookup and, as entries come and go, keeps rebuilding its table (it never
 * reuses a deleted entry's place). Here a request sits in the slot its id picks (`id & mask`) of an
 * array at most half full: the connection chooses ids, so it skips the ones whose slot is taken
 * (ids only need to be unique among pending requests) and no two requests ever share a slot.
 */
export interface PendingEntry {
  readonly id: number;
}

// Ids stay below 2^32 so that they encode in at most 5 bytes of msgpack.
const MAX_ID = 0xffff_ffff;
const INITIAL_SLOTS = 8;

export class PendingRequests<T extends PendingEntry> {
  private slots: (T | undefined)[] = emptySlots(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;
  private lastId = 0;

  get size(): number {
    return this.count;
  }

  /**
   * An id for the next request: the one after the last, wrapping below 2^32, skipping ids whose
   * slot is taken. The table grows first if adding a request would fill more than half of it, so a
   * free slot is always near.
   */
  nextId(): number {
    if (2 * (this.count + 1) > this.slots.length) this.grow();
    let id = this.lastId;
    do id = id >= MAX_ID ? 1 : id + 1;
    while (this.slots[id & this.mask] !== undefined);
    this.lastId = id;
    return id;
  }

  /** Adds a request whose id came from `nextId` and is not pending. */
  add(request: T): void {
    // Ids handed out before either request was added (one sent from inside the encoding of
    // another) may share a slot; more slots part them, since they differ.
    while (this.slots[request.id & this.mask] !== undefined) this.grow();
    this.slots[request.id & this.mask] = request;
    this.count++;
  }

  get(id: number): T | undefined {
    const request = this.slots[id & this.mask];
    return request !== undefined && request.id === id ? request : undefined;
  }

  /** Removes and returns request `id`, if it is pending. */
  take(id: number): T | undefined {
    const request = this.get(id);
    if (request === undefined) return undefined;
    this.slots[id & this.mask] = undefined;
    this.count--;
    return request;
  }

  /**
   * The pending requests, oldest first (the order they were sent in: callers see timeouts and a
   * close fail them in that order), as a copy: the table may change while the caller goes
   * through them.
   */
  list(): T[] {
    const list: T[] = [];
    for (const request of this.slots) if (request !== undefined) list.push(request);
    // Ids were handed out in increasing order, wrapping below 2^32: the further an id is behind
    // the last one handed out, the older its request.
    const age = (request: T) => (this.lastId - request.id + MAX_ID) % MAX_ID;
    return list.sort((a, b) => age(b) - age(a));
  }

  /** Forgets every request; the table shrinks back to its first size. */
  clear(): void {
    this.slots = emptySlots(INITIAL_SLOTS);
    this.mask = INITIAL_SLOTS - 1;
    this.count = 0;
  }

  /** Twice the slots. Ids in distinct slots stay in distinct slots: they differ in the low bits. */
  private grow(): void {
    const slots = emptySlots<T>(2 * this.slots.length);
    const mask = slots.length - 1;
    for (const request of this.slots) if (request !== undefined) slots[request.id & mask] = request;
    this.slots = slots;
    this.mask = mask;
  }
}

/** `length` empty slots, filled (not holes, which V8 reads more slowly). */
function emptySlots<T>(length: number): (T | undefined)[] {
  return new Array<T | undefined>(length).fill(undefined);
}
