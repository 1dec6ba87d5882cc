import { StorageCorruptionError } from '@copycat/common';

/**
 * Stored bytes failed a check where they cannot be a torn write: in a sealed segment, before
 * the durable end of the last one, or when read back. Names the file and byte offset.
 */
export class SegmentCorruptionError extends StorageCorruptionError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super(`${file} at offset ${offset}: ${reason}`);
    this.file = file;
    this.offset = offset;
  }
}

/** `value` if it is an Error, else an Error describing it (for rejections of unknown values). */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
