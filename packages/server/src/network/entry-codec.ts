import type { LogEntry } from '../raft/ports.js';

/** How log entries travel in append requests: as the storage's own record bytes. */
export interface EntryCodec {
  encode(entries: readonly LogEntry[]): Uint8Array;
  /** Checks every record's checksum; throws a typed error on corrupt or malformed bytes. */
  decode(bytes: Uint8Array): LogEntry[];
}
