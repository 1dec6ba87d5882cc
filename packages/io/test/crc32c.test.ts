import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '@copycat/io';
import { crc32cImplementation, crc32cPortable } from '../src/crc32c.js';

const ascii = (s: string) => new TextEncoder().encode(s);

// Bitwise reference implementation: slow, obviously right.
function reference(data: Uint8Array): number {
  let crc = ~0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32c', () => {
  it('matches the check value of the CRC catalogue ("123456789")', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  // RFC 3720 (iSCSI), appendix B.4.
  it('matches the RFC 3720 test vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    const iscsiRead = Uint8Array.from([
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(crc32c(iscsiRead)).toBe(0xd9963a56);
  });

  it('is 0 for empty input', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with a bitwise reference on random input, offsets and lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (data, a, b) => {
        const offset = data.length === 0 ? 0 : a % data.length;
        const length = (data.length - offset === 0 ? 0 : b % (data.length - offset)) | 0;
        expect(crc32c(data, offset, length)).toBe(reference(data.subarray(offset, offset + length)));
      }),
    );
  });

  // In the portable code, inputs of 256 bytes or more take the word-load path (aligned 32-bit
  // reads after a few bytes up to a 4-byte boundary); shorter ones the byte-wise path. Cover
  // both, every alignment of the view and of the offset, and the seams between head, words and
  // tail; crc32c itself (native from 256 bytes when loaded) too.
  it('agrees with the reference on long inputs at every alignment (word-load path)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 2100 }),
        fc.nat({ max: 3 }),
        fc.nat(),
        fc.nat(),
        (data, shift, a, b) => {
          const backing = new Uint8Array(data.length + shift);
          backing.set(data, shift);
          const view = backing.subarray(shift);
          const offset = a % data.length;
          const length = b % (data.length - offset + 1);
          const expected = reference(data.subarray(offset, offset + length));
          expect(crc32cPortable(view, offset, length)).toBe(expected);
          expect(crc32c(view, offset, length)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the same result on both paths around the word-load threshold', () => {
    const data = Uint8Array.from({ length: 600 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let length = 240; length <= 300; length++) {
      for (let offset = 0; offset < 4; offset++) {
        const expected = reference(data.subarray(offset, offset + length));
        expect(crc32cPortable(data, offset, length)).toBe(expected);
        expect(crc32c(data, offset, length)).toBe(expected);
      }
    }
    expect(crc32c(new Uint8Array(4096).fill(0xa5))).toBe(reference(new Uint8Array(4096).fill(0xa5)));
  });

  it('works on views of a SharedArrayBuffer and of Node Buffers', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(1030));
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 7) & 0xff;
    const copy = shared.slice();
    expect(crc32c(shared, 3, 1000)).toBe(reference(copy.subarray(3, 1003)));
    expect(crc32cPortable(shared, 3, 1000)).toBe(reference(copy.subarray(3, 1003)));
    const buffer = Buffer.from(copy.subarray(1));
    expect(crc32c(buffer)).toBe(reference(copy.subarray(1)));
    expect(crc32cPortable(buffer)).toBe(reference(copy.subarray(1)));
  });

  // From 256 bytes on, crc32c uses the optional native @node-rs/crc32 when it loaded: it must
  // give exactly what the portable code gives, for every range and continued checksum.
  it('gives the same results with and without the native code, which loads here', () => {
    expect(crc32cImplementation).toBe(process.env.COPYCAT_CRC32C === 'portable' ? 'portable' : 'native');
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 5000 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (data, a, b, previous) => {
          const offset = a % data.length;
          const length = b % (data.length - offset + 1);
          expect(crc32c(data, offset, length)).toBe(crc32cPortable(data, offset, length));
          expect(crc32c(data, offset, length, previous)).toBe(crc32cPortable(data, offset, length, previous));
        },
      ),
      { numRuns: 300 },
    );
    const big = Buffer.alloc(1 << 20, 0x5a);
    expect(crc32c(big)).toBe(crc32cPortable(big));
    expect(crc32c(big)).toBe(reference(big));
  });

  it('continues across chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.nat(), (data, cut) => {
        const at = data.length === 0 ? 0 : cut % data.length;
        const partial = crc32c(data, 0, at);
        expect(crc32c(data, at, data.length - at, partial)).toBe(crc32c(data));
      }),
    );
  });

  it('detects every single-bit flip', () => {
    const data = ascii('the quick brown fox jumps over the lazy dog');
    const good = crc32c(data);
    for (let i = 0; i < data.length * 8; i++) {
      const flipped = data.slice();
      flipped[i >> 3]! ^= 1 << (i & 7);
      expect(crc32c(flipped)).not.toBe(good);
    }
  });

  it('rejects ranges outside the data', () => {
    expect(() => crc32c(new Uint8Array(4), 2, 3)).toThrow(RangeError);
    expect(() => crc32c(new Uint8Array(4), -1, 1)).toThrow(RangeError);
  });
});
