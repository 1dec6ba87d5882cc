import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '@copycat/io';

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

  it('continues across chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), (data, cut) => {
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
