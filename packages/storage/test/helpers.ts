import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LogFields, Logger } from '@copycat/common';
import { Storage, type Entry, type EntryType, type StorageOptions } from '@copycat/storage';

export const LEVELS = ['disk', 'memory'] as const;
export type Level = (typeof LEVELS)[number];

const made: string[] = [];

/** A fresh directory under the OS temp dir, removed by `cleanupDirs()`. */
export function tempDir(prefix = 'copycat-storage-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function cleanupDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Deterministic payload bytes for an entry, so content can be checked after a crash. */
export function payloadFor(index: number, term: number, size = 16 + (index % 23)): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (index * 2654435761 + term * 40503) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

export function entry(
  index: number,
  term = 1,
  options: { size?: number; type?: EntryType; flags?: number } = {},
): Entry {
  return {
    index,
    term,
    type: options.type ?? 'command',
    timestamp: 1_700_000_000_000 + index,
    flags: options.flags ?? 0,
    payload: payloadFor(index, term, options.size),
  };
}

export function entries(from: number, to: number, term = 1, size?: number): Entry[] {
  const list: Entry[] = [];
  for (let i = from; i <= to; i++) list.push(entry(i, term, size === undefined ? {} : { size }));
  return list;
}

export function makeStorage(level: Level, options: StorageOptions = {}): Storage {
  return new Storage({ level, directory: level === 'disk' ? tempDir() : 'test', ...options });
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields | undefined;
}

/** A logger that keeps what it is told, for asserting on recovery events. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (): Logger & { lines: LogLine[] } => ({
    lines,
    debug: (message, fields) => lines.push({ level: 'debug', message, fields }),
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
    child: () => make(),
  });
  return make();
}

// ---- segment files written by hand ---------------------------------------------------------
// Entries of `list` have 30-byte payloads: each record is RECORD bytes, and record k (of the
// first segment) starts at HEADER + RECORD * (k - 1).

/** Bytes of a segment's header (fixed part and mark). */
export const HEADER = 96;
/** Bytes of a record holding a 30-byte payload. */
export const RECORD = 64;
/** Where record `k` of the first segment starts. */
export const offsetOf = (k: number) => HEADER + RECORD * (k - 1);
/** Entries `from..to` with 30-byte payloads (records of RECORD bytes). */
export const list = (from: number, to: number, term = 1) => entries(from, to, term, 30);

export function readBytes(file: string, from: number, to: number): Buffer {
  const bytes = Buffer.alloc(to - from);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, bytes, 0, bytes.length, from);
  fs.closeSync(fd);
  return bytes;
}

export function writeBytes(file: string, bytes: Uint8Array, at: number): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, bytes, 0, bytes.length, at);
  fs.closeSync(fd);
}
