/**
 * The search of one (sub-)history for a linearization: Wing & Gong's algorithm with Lowe's
 * memoisation, as Porcupine implements it ("Testing for Linearizability", Lowe 2017; "Faster
 * linearizability checking via P-compositionality", Horn & Kroening 2015).
 *
 * Call and return entries sit in a doubly linked list in real-time order. The candidates for
 * the next linearization point are the call entries before the first return entry: operations
 * that were invoked before any not-yet-linearized operation returned. Linearizing one lifts its
 * call and return out of the list (dancing links), so backtracking is O(1). A cache of
 * (linearized set, model state) pairs already explored prunes the search: the same set of
 * operations leading to the same state has the same future.
 *
 * Operations with an unknown outcome (`info`) return at +infinity: they may be linearized at
 * any point after their call, and they need not be linearized at all. They live in a second
 * list of their own (only their calls matter). The search succeeds as soon as every *completed*
 * operation is linearized, which is what "possibly never happened" means. At every step it
 * tries completed operations first (pass 0) and unknown ones second (pass 1): unknown
 * operations are usually needed only to explain some observation, and trying them eagerly
 * sends the search down long dead ends when they did not take effect.
 *
 * The rest of this comment lists the prunings on top of that. Each keeps the verdict exact;
 * `test/checker-properties.test.ts` compares the verdicts with a brute-force search.
 *
 * Subsumption: a configuration with the same completed operations linearized and the same
 * state as one already explored to the end, plus some extra unknown-outcome operations, cannot
 * succeed where that one failed: it has the same obligations and fewer options (any completion
 * of it, minus the extra operations, completes the other). So it is pruned. Only configurations
 * whose exploration has finished ("closed") subsume others; by induction on the order in which
 * configurations close, every closed one truly has no completion. This is what keeps histories
 * with many lost writes tractable: applying a lost write that is later overwritten no longer
 * re-explores everything that follows.
 *
 * Reads go first: a completed operation that cannot change the state (`Model.isReadOnly`) and
 * is legal in the current state is linearized at once, and no other choice is tried at that
 * point. That loses nothing: it is a candidate, so every operation it must follow is already
 * linearized, and in any completion it can be moved here since it changes nothing. Without this,
 * many overlapping reads of one key make the search branch over their orders for nothing.
 *
 * Useless lost operations: an unknown-outcome operation that leaves the state unchanged is
 * not tried, since the configuration that still has it available explores everything after it.
 *
 * Erased lost operations: at a configuration C, if applying unknown-outcome X and then Y gives
 * the same state as applying Y at C directly, then C+X+Y is pruned. It has the same
 * obligations as C+Y and more operations used up, and C's own scan of unknown-outcome
 * operations explores C+Y (or a configuration at least as good) before or after X. This is a
 * sleep-set argument as in partial-order reduction; deferrals always go to a configuration with
 * fewer unknown-outcome operations, so they cannot go round in a circle. Without it, a dead end
 * followed by many lost blind writes tries every subset of them.
 *
 * Precedence: pairs from `Model.precedence` (every linearization that contains B contains A
 * earlier) make B a candidate only once A is linearized. Every valid linearization respects
 * them, so the search loses none; and each pruning here argues "if that configuration has a
 * valid completion, so has this one", a statement about valid linearizations only, so the
 * pairs leave those arguments standing. An operation in a pair gets a symmetry class of its
 * own (below).
 *
 * Symmetry: two unknown-outcome operations with the same name, key and input (and process,
 * unless the model ignores processes) are interchangeable once both are invoked: neither has a
 * return to respect, and they have the same effect. So at each step only the first of each such
 * class is tried. (If a linearization places the later one where the earlier one was also
 * available, swapping the two gives another valid linearization.) This turns k! orders of k
 * lost dequeues or increments into one.
 */
import { Prng } from '../prng.js';
import type { Operation } from '../history/types.js';
import { UNKNOWN, canonical, type Model } from '../models/model.js';

export type SearchResult =
  | { readonly kind: 'ok'; readonly order: readonly number[] }
  | { readonly kind: 'illegal'; readonly longest: readonly number[] }
  | { readonly kind: 'timeout' };

/** Entry ranks in real-time order: calls at `call`, returns at `return`; see `entryOrder`. */
export interface EntryOrder {
  /** Entries sorted: entry e is op `e >> 1`, a call if `(e & 1) === 0`. */
  readonly sorted: Int32Array;
  /** rank[e]: position of entry e in `sorted`. */
  readonly rank: Int32Array;
}

/**
 * Orders entries by time; at equal times calls come before returns (the operations overlap:
 * the permissive reading, as Porcupine's), then by operation index for determinism.
 */
export function entryOrder(ops: readonly Operation[]): EntryOrder {
  const n = ops.length * 2;
  const time = (e: number) => (e & 1 ? ops[e >> 1]!.return : ops[e >> 1]!.call);
  const entries = Array.from({ length: n }, (_, e) => e);
  entries.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || (a >> 1) - (b >> 1));
  const sorted = Int32Array.from(entries);
  const rank = new Int32Array(n);
  sorted.forEach((e, i) => (rank[e] = i));
  return { sorted, rank };
}

const DEADLINE_CHECK_EVERY = 1024;
/** Closed configurations kept per bucket to subsume others (see `visit`). */
const SUBSUMERS = 8;

export function searchLinearization<S>(
  ops: readonly Operation[],
  model: Model<S>,
  deadline: number,
  now: () => number,
): SearchResult {
  const m = ops.length;
  const unknown = new Uint8Array(m);
  const outputs: unknown[] = new Array<unknown>(m);
  let okRemaining = 0;
  let unknownRemaining = 0;
  for (let i = 0; i < m; i++) {
    const op = ops[i]!;
    if (op.outcome === 'ok') {
      okRemaining++;
      outputs[i] = op.output;
    } else {
      unknown[i] = 1;
      unknownRemaining++;
      outputs[i] = UNKNOWN;
    }
  }
  if (okRemaining === 0) return { kind: 'ok', order: [] };

  // Completed operations that cannot change the state (see "Reads go first").
  const readOnly = new Uint8Array(m);
  if (model.isReadOnly !== undefined) {
    for (let i = 0; i < m; i++)
      if (unknown[i] === 0 && model.isReadOnly(ops[i]!, outputs[i])) readOnly[i] = 1;
  }

  // Symmetry classes of unknown-outcome operations (see the file comment).
  const symmetry = new Int32Array(m);
  const classes = new Map<string, number>();
  for (let i = 0; i < m; i++) {
    if (unknown[i] === 0) continue;
    const op = ops[i]!;
    const who = model.ignoresProcess === true ? '' : canonical(op.process);
    const signature = `${who}|${op.name}|${op.key ?? ''}|${op.input === undefined ? '' : canonical(op.input)}`;
    let id = classes.get(signature);
    if (id === undefined) classes.set(signature, (id = classes.size));
    symmetry[i] = id;
  }
  // Precedence pairs (see the file comment): waiting[op] counts op's predecessors not yet
  // linearized; op is no candidate while it is above zero.
  const waiting = new Int32Array(m);
  const successors: number[][] = Array.from({ length: m }, () => []);
  for (const [before, after] of model.precedence?.(ops) ?? []) {
    if (!(before >= 0 && before < m && after >= 0 && after < m && before !== after))
      throw new RangeError(`${model.name} model: precedence pair [${before}, ${after}] is out of range`);
    successors[before]!.push(after);
    waiting[after]!++;
  }
  for (let i = 0; i < m; i++) {
    if (unknown[i] === 1 && (waiting[i] !== 0 || successors[i]!.length !== 0)) symmetry[i] = classes.size + i; // interchangeable with nothing
  }
  // tried[c] === scan: class c was already tried in the current pass-1 scan of this node.
  const tried = new Int32Array(classes.size + m);
  let scan = 0;

  // Two lists over nodes 1..2m, which are the entries in real-time order (so comparing node
  // numbers compares times). The main list holds the call and return entries of completed
  // operations, between HEAD and TAIL; the info list holds the call entries of operations with
  // unknown outcome, between INFO_HEAD and INFO_TAIL. Those have no return to respect, so
  // keeping them apart means a scan for candidates never walks over them.
  const { sorted } = entryOrder(ops);
  const HEAD = 0;
  const TAIL = 2 * m + 1;
  const INFO_HEAD = 2 * m + 2;
  const INFO_TAIL = 2 * m + 3;
  const size = 2 * m + 4;
  const next = new Int32Array(size);
  const prev = new Int32Array(size);
  const opOf = new Int32Array(size);
  const isCall = new Uint8Array(size);
  const match = new Int32Array(size);
  const nodeOfEntry = new Int32Array(2 * m);
  for (let i = 0; i < 2 * m; i++) nodeOfEntry[sorted[i]!] = i + 1;
  let last = HEAD;
  let lastInfo = INFO_HEAD;
  for (let i = 0; i < 2 * m; i++) {
    const e = sorted[i]!;
    const node = i + 1;
    const op = e >> 1;
    opOf[node] = op;
    const call = (e & 1) === 0;
    if (unknown[op] === 1) {
      if (!call) continue; // returns at +infinity: not needed
      isCall[node] = 1;
      next[lastInfo] = node;
      prev[node] = lastInfo;
      lastInfo = node;
      continue;
    }
    if (call) {
      isCall[node] = 1;
      match[node] = nodeOfEntry[e + 1]!;
    }
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = TAIL;
  prev[TAIL] = last;
  next[TAIL] = TAIL;
  next[lastInfo] = INFO_TAIL;
  prev[INFO_TAIL] = lastInfo;
  next[INFO_TAIL] = INFO_TAIL;

  /** The first return entry of the main list (or TAIL): candidates are calls before it. */
  const firstReturn = (): number => {
    let n = next[HEAD]!;
    while (isCall[n] === 1) n = next[n]!;
    return n;
  };

  // Memoisation: the linearized set as a bitset. Buckets are keyed by a Zobrist hash of the
  // completed operations only, and the state; inside a bucket, configurations are found by a
  // second hash over the unknown-outcome operations. Configurations that differ only in
  // unknown-outcome operations share a bucket, where the most general closed ones (fewest
  // unknown-outcome operations) are kept to subsume others: a bounded number, so a lookup stays
  // cheap (pruning less is always sound).
  const words = new Uint32Array((m + 31) >>> 5);
  const okMask = new Uint32Array(words.length);
  for (let i = 0; i < m; i++) if (unknown[i] === 0) okMask[i >>> 5]! |= 1 << (i & 31);
  const zobrist = new Uint32Array(m);
  const keys = new Prng(0x5eed_1234).fork('zobrist');
  for (let i = 0; i < m; i++) zobrist[i] = keys.nextUint32();
  let okHash = 0;
  let infoHash = 0;
  const unknownTotal = unknownRemaining;
  interface Bucket {
    readonly exact: Map<number, Explored[]>;
    readonly general: Explored[];
  }
  interface Explored {
    readonly words: Uint32Array;
    readonly infoCount: number;
    readonly bucket: Bucket;
    closed: boolean;
  }
  const cache = new Map<string, Bucket>();
  /** The new configuration's cache entry, or undefined if it is known or subsumed. */
  const visit = (key: string): Explored | undefined => {
    let bucket = cache.get(key);
    if (bucket === undefined) cache.set(key, (bucket = { exact: new Map(), general: [] }));
    let same = bucket.exact.get(infoHash >>> 0);
    if (same === undefined) bucket.exact.set(infoHash >>> 0, (same = []));
    outer: for (const other of same) {
      for (let w = 0; w < words.length; w++) if (other.words[w] !== words[w]) continue outer;
      return undefined;
    }
    const infoCount = unknownTotal - unknownRemaining;
    outer: for (const other of bucket.general) {
      if (other.infoCount >= infoCount) continue;
      const theirs = other.words;
      for (let w = 0; w < words.length; w++) {
        const mine = words[w]!;
        const their = theirs[w]!;
        // Subsumed: theirs ⊆ mine, with the same completed operations.
        if ((their & ~mine) !== 0 || ((mine ^ their) & okMask[w]!) !== 0) continue outer;
      }
      return undefined;
    }
    const entry: Explored = { words: words.slice(), infoCount, bucket, closed: false };
    same.push(entry);
    return entry;
  };
  /** Everything after `entry` failed: it is closed, and may now subsume others. */
  const close = (entry: Explored) => {
    entry.closed = true;
    const general = entry.bucket.general;
    if (general.length < SUBSUMERS) {
      general.push(entry);
      return;
    }
    let widest = 0;
    for (let i = 1; i < general.length; i++)
      if (general[i]!.infoCount > general[widest]!.infoCount) widest = i;
    if (entry.infoCount < general[widest]!.infoCount) general[widest] = entry;
  };

  // The stack of linearized calls: the node, the state before it, the pass it was found in,
  // whether it was a forced read, and its cache entry (closed when it is popped).
  const stackNode = new Int32Array(m);
  const stackPass = new Uint8Array(m);
  const stackForced = new Uint8Array(m);
  const stackState: S[] = new Array<S>(m);
  const stackEntry: Explored[] = new Array<Explored>(m);
  let depth = 0;
  let longest: number[] = [];

  let state = model.init();
  let node = next[HEAD]!;
  // Pass 0 walks the main list for completed operations; pass 1 walks the info list for
  // operations with unknown outcome invoked before `bound`, the first pending return.
  let pass = 0;
  let bound = TAIL;
  // True on arriving at a new configuration: look for a forced read first.
  let fresh = true;
  let iterations = 0;

  const mark = (op: number, on: boolean) => {
    words[op >>> 5]! ^= 1 << (op & 31);
    const delta = on ? -1 : 1;
    for (const after of successors[op]!) waiting[after]! += delta;
    if (unknown[op] === 1) {
      infoHash ^= zobrist[op]!;
      unknownRemaining += delta;
    } else {
      okHash ^= zobrist[op]!;
      okRemaining += delta;
    }
  };

  // Dancing links: removing a node keeps its own pointers, so it can be put back in O(1) as
  // long as removals are undone in reverse order.
  const unlink = (n: number) => {
    next[prev[n]!] = next[n]!;
    prev[next[n]!] = prev[n]!;
  };
  const relink = (n: number) => {
    prev[next[n]!] = n;
    next[prev[n]!] = n;
  };

  /** Linearizes the call at `at` leading to `after`; false if that configuration is known. */
  const push = (at: number, after: S, forced: boolean): boolean => {
    const op = opOf[at]!;
    mark(op, true);
    const entry = visit(`${okHash >>> 0}:${model.key(after)}`);
    if (entry === undefined) {
      mark(op, false);
      return false;
    }
    stackEntry[depth] = entry;
    stackNode[depth] = at;
    stackPass[depth] = pass;
    stackForced[depth] = forced ? 1 : 0;
    stackState[depth] = state;
    depth++;
    state = after;
    unlink(at);
    if (unknown[op] === 0) unlink(match[at]!);
    return true;
  };

  /** Undoes the top frame and returns its call node. */
  const pop = (): number => {
    depth--;
    close(stackEntry[depth]!);
    const undo = stackNode[depth]!;
    state = stackState[depth]!;
    pass = stackPass[depth]!;
    stackState[depth] = undefined as S; // let the state be collected
    const op = opOf[undo]!;
    mark(op, false);
    if (unknown[op] === 0) relink(match[undo]!);
    relink(undo);
    return undo;
  };

  const order = () => Array.from(stackNode.subarray(0, depth), (n) => opOf[n]!);

  /**
   * An unknown-outcome operation that leaves the state as it is cannot help here: the current
   * configuration, which has it still available, already explores everything after it.
   */
  const unchanged = (after: S): boolean => model.key(after) === model.key(state);

  /**
   * True if this configuration was reached by applying an unknown-outcome operation X at its
   * parent C, and applying unknown-outcome `op` at C directly gives `after` too (see "Erased lost
   * operations").
   */
  const erased = (op: number, after: S): boolean => {
    if (depth === 0 || stackPass[depth - 1] !== 1 || stackForced[depth - 1] === 1) return false;
    const [ok, direct] = model.step(stackState[depth - 1]!, ops[op]!, outputs[op]);
    return ok && model.key(direct) === model.key(after);
  };

  /** Starts (or resumes, at `from`) this configuration's scan of unknown-outcome operations. */
  const startPass1 = (from: number) => {
    pass = 1;
    bound = firstReturn();
    scan++;
    // Classes already tried at this configuration are those of the operations before `from`.
    for (let n = next[INFO_HEAD]!; n !== from && n !== INFO_TAIL; n = next[n]!)
      tried[symmetry[opOf[n]!]!] = scan;
  };

  for (;;) {
    if (++iterations % DEADLINE_CHECK_EVERY === 0 && now() > deadline) return { kind: 'timeout' };

    if (fresh) {
      fresh = false;
      let forced = -1;
      let forcedState = state;
      for (let n = next[HEAD]!; isCall[n] === 1; n = next[n]!) {
        const op = opOf[n]!;
        if (readOnly[op] === 0 || waiting[op] !== 0) continue;
        const [ok, after] = model.step(state, ops[op]!, outputs[op]);
        if (ok) {
          forced = n;
          forcedState = after;
          break;
        }
      }
      if (forced !== -1) {
        if (push(forced, forcedState, true)) {
          if (okRemaining === 0) return { kind: 'ok', order: order() };
          fresh = true;
          node = next[HEAD]!;
          pass = 0;
        } else {
          // Known or subsumed: no completion from here.
          node = INFO_TAIL;
          pass = 1;
        }
        continue;
      }
    }

    const exhausted = pass === 0 ? isCall[node] === 0 : node === INFO_TAIL || node > bound;
    if (exhausted) {
      if (pass === 0 && unknownRemaining > 0) {
        node = next[INFO_HEAD]!;
        startPass1(node);
        continue;
      }
      // Every candidate failed: backtrack.
      if (depth > longest.length) longest = order();
      if (depth === 0) return { kind: 'illegal', longest };
      const forced = stackForced[depth - 1] === 1;
      const undo = pop();
      if (forced) {
        // The forced read was the only choice worth trying there: that configuration failed too.
        node = INFO_TAIL;
        pass = 1;
        continue;
      }
      node = next[undo]!;
      if (pass === 1) startPass1(node);
      continue;
    }

    const op = opOf[node]!;
    if (waiting[op] !== 0) {
      node = next[node]!;
      continue;
    }
    if (pass === 1) {
      const c = symmetry[op]!;
      if (tried[c] === scan) {
        node = next[node]!;
        continue;
      }
      tried[c] = scan;
    }
    const [ok, after] = model.step(state, ops[op]!, outputs[op]);
    if (!ok || (pass === 1 && (unchanged(after) || erased(op, after))) || !push(node, after, false)) {
      node = next[node]!;
      continue;
    }
    if (okRemaining === 0) return { kind: 'ok', order: order() };
    fresh = true;
    node = next[HEAD]!;
    pass = 0;
  }
}
