/**
 * CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), as used by iSCSI, ext4
 * and most storage engines.
 *
 * Portable code: table-driven with slicing-by-16. Sixteen 256-entry tables (16 KiB, within L1)
 * let the loop consume sixteen bytes per step, and only four of its sixteen lookups depend on
 * the previous step. Inputs of WORD_LOADS_FROM bytes or more are read as aligned 32-bit words
 * through an Int32Array view on little-endian hosts (all but s390x and big-endian ppc64): one
 * load instead of four byte loads and three shifts per word, about 1.5x the byte-wise speed.
 *
 * Native code: `@node-rs/crc32` (SSE4.2 / ARMv8 CRC instructions) is an optional dependency.
 * When it loads and agrees with the portable code on a self-check, inputs of NATIVE_FROM bytes
 * or more go to it: 2.5x faster on 1 KiB, 5x on large buffers; below that size the call costs
 * more than it saves. Without it (not installed, no prebuilt binary for the platform, Node
 * older than 20.16, a browser, or COPYCAT_CRC32C=portable in the environment) every input
 * takes the portable code, with the same results.
 */
const POLY = 0x82f63b78;
/** Inputs from this length on take the word-load path (below, the view costs more). */
const WORD_LOADS_FROM = 256;
/** Inputs from this length on go to the native code when it is there (`pnpm bench io`). */
const NATIVE_FROM = 256;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TABLES: Int32Array[] = (() => {
  const tables = Array.from({ length: 16 }, () => new Int32Array(256));
  const t0 = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  // tables[k][n]: the CRC of byte n followed by k zero bytes.
  for (let n = 0; n < 256; n++) {
    let c = t0[n]!;
    for (let k = 1; k < 16; k++) {
      c = t0[c & 0xff]! ^ (c >>> 8);
      tables[k]![n] = c;
    }
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] = TABLES as [
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
];

// The two loops below spell out the same slicing-by-16 step rather than share a helper:
// V8 does not always inline a helper that big (when crc32c is itself inlined into a caller),
// and a call per 16 bytes halves the speed.

/** Continues `c` (not inverted) over `data[i, end)`, assembling words from bytes. */
function bytewise(data: Uint8Array, i: number, end: number, c: number): number {
  for (const end16 = end - 16; i <= end16; i += 16) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      T15[a & 0xff]! ^
      T14[(a >>> 8) & 0xff]! ^
      T13[(a >>> 16) & 0xff]! ^
      T12[a >>> 24]! ^
      T11[data[i + 4]!]! ^
      T10[data[i + 5]!]! ^
      T9[data[i + 6]!]! ^
      T8[data[i + 7]!]! ^
      T7[data[i + 8]!]! ^
      T6[data[i + 9]!]! ^
      T5[data[i + 10]!]! ^
      T4[data[i + 11]!]! ^
      T3[data[i + 12]!]! ^
      T2[data[i + 13]!]! ^
      T1[data[i + 14]!]! ^
      T0[data[i + 15]!]!;
  }
  while (i < end) c = T0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** Continues `c` over `words` (little-endian), 16 bytes per step. */
function wordwise(words: Int32Array, c: number): number {
  for (let j = 0; j < words.length; j += 4) {
    const a = c ^ words[j]!;
    const b = words[j + 1]!;
    const d = words[j + 2]!;
    const e = words[j + 3]!;
    c =
      T15[a & 0xff]! ^
      T14[(a >>> 8) & 0xff]! ^
      T13[(a >>> 16) & 0xff]! ^
      T12[a >>> 24]! ^
      T11[b & 0xff]! ^
      T10[(b >>> 8) & 0xff]! ^
      T9[(b >>> 16) & 0xff]! ^
      T8[b >>> 24]! ^
      T7[d & 0xff]! ^
      T6[(d >>> 8) & 0xff]! ^
      T5[(d >>> 16) & 0xff]! ^
      T4[d >>> 24]! ^
      T3[e & 0xff]! ^
      T2[(e >>> 8) & 0xff]! ^
      T1[(e >>> 16) & 0xff]! ^
      T0[e >>> 24]!;
  }
  return c;
}

/**
 * CRC-32C of `data[offset, offset + length)` in portable code only (the native code, when
 * loaded, must agree with it: tests compare the two).
 */
export function crc32cPortable(data: Uint8Array, offset = 0, length = data.length - offset, crc = 0): number {
  checkRange(data, offset, length);
  return portable(data, offset, length, crc);
}

function portable(data: Uint8Array, offset: number, length: number, crc: number): number {
  const end = offset + length;
  if (length < WORD_LOADS_FROM || !LITTLE_ENDIAN) return ~bytewise(data, offset, end, ~crc) >>> 0;
  // Bytes up to a 4-byte boundary of the underlying buffer, then whole 16-byte groups as
  // aligned words, then the rest.
  const head = -(data.byteOffset + offset) & 3;
  let c = bytewise(data, offset, offset + head, ~crc);
  const start = offset + head;
  const groups = (end - start) >>> 4;
  c = wordwise(new Int32Array(data.buffer, data.byteOffset + start, groups * 4), c);
  return ~bytewise(data, start + groups * 16, end, c) >>> 0;
}

function checkRange(data: Uint8Array, offset: number, length: number): void {
  if (offset < 0 || length < 0 || offset + length > data.length) {
    throw new RangeError(`crc32c range [${offset}, ${offset + length}) outside [0, ${data.length})`);
  }
}

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;

interface NodeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

/**
 * `@node-rs/crc32`'s crc32c, or undefined. Loaded through `process.getBuiltinModule` rather
 * than a static import of `node:module`, so this file still bundles for browsers.
 */
function loadNative(): NativeCrc32c | undefined {
  try {
    const node = (globalThis as { process?: NodeProcess }).process;
    if (node?.env?.COPYCAT_CRC32C === 'portable' || typeof node?.getBuiltinModule !== 'function')
      return undefined;
    const nodeModule = node.getBuiltinModule('node:module') as
      { createRequire(path: string): (id: string) => unknown } | undefined;
    const loaded = nodeModule?.createRequire(import.meta.url)('@node-rs/crc32') as
      { crc32c?: unknown } | undefined;
    if (typeof loaded?.crc32c !== 'function') return undefined;
    const native = loaded.crc32c as NativeCrc32c;
    // Used only if it gives the catalogue check value, also when continued across chunks.
    const check = Uint8Array.from([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);
    const whole = native(check);
    const continued = native(check.subarray(4), native(check.subarray(0, 4)));
    return whole === 0xe3069283 && continued === whole ? native : undefined;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Which code computes inputs of NATIVE_FROM bytes or more in this process. */
export const crc32cImplementation: 'native' | 'portable' = native === undefined ? 'portable' : 'native';

/**
 * CRC-32C of `data[offset, offset + length)`. Pass a previous result as `crc` to continue a
 * checksum over several chunks. Returns an unsigned 32-bit integer.
 */
export function crc32c(data: Uint8Array, offset = 0, length = data.length - offset, crc = 0): number {
  checkRange(data, offset, length);
  return length < NATIVE_FROM ? portable(data, offset, length, crc) : large(data, offset, length, crc);
}

function large(data: Uint8Array, offset: number, length: number, crc: number): number {
  if (native === undefined) return portable(data, offset, length, crc);
  return native(offset === 0 && length === data.length ? data : data.subarray(offset, offset + length), crc);
}
