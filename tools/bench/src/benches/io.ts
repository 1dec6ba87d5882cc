/**
 * `pnpm bench io`: CRC32C throughput (our `crc32c` as it runs here, which uses the native
 * checksum from 256 bytes when available, and the pure TypeScript slicing-by-16 fallback)
 * against @node-rs/crc32 (native SSE4.2/ARMv8 code), and the serializer against JSON for
 * typical Copycat payloads.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { Serializer, crc32c, crc32cImplementation, crc32cPortable } from '@copycat/io';
import { medianRate, printTable, writeResults, type Row } from '../report.js';

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const runs = quick ? 3 : 7;
  const rows: Row[] = [];

  for (const size of [64, 1024, 64 * 1024, 1024 * 1024]) {
    const data = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
    const nodeBuffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const total = quick ? 16 * 1024 * 1024 : 64 * 1024 * 1024;
    const iterations = Math.max(1, Math.floor(total / size));
    if (crc32c(data) !== nativeCrc32c(nodeBuffer)) throw new Error('crc32c disagrees with @node-rs/crc32');
    let sink = 0;
    const ours = await medianRate(runs, iterations * size, () => {
      for (let i = 0; i < iterations; i++) sink ^= crc32c(data);
    });
    const portable = await medianRate(runs, iterations * size, () => {
      for (let i = 0; i < iterations; i++) sink ^= crc32cPortable(data);
    });
    const native = await medianRate(runs, iterations * size, () => {
      for (let i = 0; i < iterations; i++) sink ^= nativeCrc32c(nodeBuffer);
    });
    if (sink === 0.5) console.log(sink);
    rows.push({
      'input bytes': size,
      'crc32c MB/s': ours / 1e6,
      'portable MB/s': portable / 1e6,
      '@node-rs/crc32 MB/s': native / 1e6,
      'crc32c / native': ours / native,
    });
  }
  printTable(
    `CRC32C (crc32c runs '${crc32cImplementation}' from 256 B; portable = slicing-by-16 TypeScript) vs native`,
    rows,
  );

  const serializer = new Serializer();
  const payloads: Record<string, unknown> = {
    'command (small object)': {
      session: 12345,
      sequence: 678,
      name: 'put',
      args: { key: 'user:42', value: 'ada' },
    },
    'append (binary entries)': {
      type: 9,
      id: 77,
      term: 5,
      leader: '127.0.0.1:5001',
      prevLogIndex: 100_000,
      prevLogTerm: 5,
      entries: new Uint8Array(4096).fill(7),
      commitIndex: 99_990,
    },
    'map snapshot (strings)': Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`key-${i}`, `value-${i}-${'x'.repeat(20)}`]),
    ),
  };
  const serializerRows: Row[] = [];
  for (const [name, payload] of Object.entries(payloads)) {
    const iterations = quick ? 20_000 : 100_000;
    const json = (v: unknown) =>
      JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x) : x));
    const encoded = serializer.encode(payload);
    const jsonText = json(payload);
    const encodeRate = await medianRate(runs, iterations, () => {
      for (let i = 0; i < iterations; i++) serializer.encode(payload);
    });
    const jsonEncodeRate = await medianRate(runs, iterations, () => {
      for (let i = 0; i < iterations; i++) json(payload);
    });
    const decodeRate = await medianRate(runs, iterations, () => {
      for (let i = 0; i < iterations; i++) serializer.decode(encoded);
    });
    const jsonDecodeRate = await medianRate(runs, iterations, () => {
      for (let i = 0; i < iterations; i++) JSON.parse(jsonText);
    });
    serializerRows.push({
      payload: name,
      'msgpack bytes': encoded.length,
      'JSON bytes': Buffer.byteLength(jsonText),
      'encode ops/s': encodeRate,
      'JSON encode ops/s': jsonEncodeRate,
      'encode ratio': encodeRate / jsonEncodeRate,
      'decode ops/s': decodeRate,
      'JSON decode ops/s': jsonDecodeRate,
      'decode ratio': decodeRate / jsonDecodeRate,
    });
  }
  printTable('Serializer (msgpack + type registry) vs JSON (binary as number arrays)', serializerRows);
  const file = writeResults('io', { crc32c: rows, serializer: serializerRows });
  console.log(`\nresults: ${file}`);
}
