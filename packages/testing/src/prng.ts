/**
 * A small, seeded, well-known pseudo-random generator: xoshiro128** (Blackman & Vigna, 2018),
 * seeded through splitmix32. It is fast, has a 2^128 - 1 period and passes BigCrush, and its
 * whole state is four 32-bit words, so a run is reproducible from one integer seed.
 *
 * `fork(label)` derives an independent stream from the root seed and a label only, never from
 * the current position, so adding draws to one stream (say, a node's election timeouts) does not
 * shift any other stream (say, the fault schedule or the timer tie-breaks).
 */

const TWO_POW_32 = 0x1_0000_0000;

export class Prng {
  /** The seed this stream was derived from (for printing and replay). */
  readonly seed: number;
  /** The label path of this stream: '' for a root stream, 'faults', 'node:n1', ... */
  readonly label: string;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, label = '') {
    checkSeed(seed);
    this.seed = seed;
    this.label = label;
    // Mix both 32-bit halves of the seed and the label into the splitmix32 start value.
    let x = mix32((seed >>> 0) ^ mix32(Math.floor(seed / TWO_POW_32) ^ 0x9e3779b9) ^ hashString(label));
    const next = () => {
      x = (x + 0x9e3779b9) | 0;
      return mix32(x);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // The all-zero state is the one state xoshiro must never be in.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A stream starting from raw xoshiro128** state words (not all zero), for known-answer tests
   * against the reference implementation.
   */
  static fromState(words: readonly [number, number, number, number]): Prng {
    if (words.every((w) => (w | 0) === 0)) throw new RangeError('xoshiro128** state must not be all zero');
    const prng = new Prng(0, 'state');
    [prng.s0, prng.s1, prng.s2, prng.s3] = words.map((w) => w | 0) as [number, number, number, number];
    return prng;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniformly distributed number in [0, 1) with 32 bits of precision. */
  random(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** A uniformly distributed integer in [min, max). */
  randomInt(min: number, max: number): number {
    if (!(max > min)) throw new RangeError(`randomInt: empty range [${min}, ${max})`);
    return min + Math.floor(this.random() * (max - min));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.random() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick: empty array');
    return items[this.randomInt(0, items.length)]!;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.randomInt(0, i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  /**
   * An independent stream derived from this stream's seed and label path plus `label`.
   * The same label always gives the same stream, whatever has been drawn so far.
   */
  fork(label: string): Prng {
    return new Prng(this.seed, this.label === '' ? label : `${this.label}/${label}`);
  }
}

/** Seeds are non-negative safe integers, so they print and parse back exactly. */
export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The splitmix32 / murmur3 finaliser: a bijective avalanche on 32 bits. */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over UTF-16 code units. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
