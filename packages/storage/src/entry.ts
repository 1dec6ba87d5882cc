/**
 * Log entries as the storage layer sees them: a typed header (index, term, type, flags,
 * timestamp) and an opaque payload. Only the state machine decodes payloads (INTERNALS.md,
 * "Bytes, not objects, on the hot path").
 */

/**
 * Entry types and their one-byte codes on disk and on the wire. Code 0 is never used, so a
 * zeroed tail can never parse as an entry; codes 8..255 are reserved for future types.
 */
export const ENTRY_TYPES = {
  initialize: 1,
  configuration: 2,
  register: 3,
  keepAlive: 4,
  unregister: 5,
  command: 6,
  noop: 7,
} as const;

export type EntryType = keyof typeof ENTRY_TYPES;

const TYPE_BY_CODE: (EntryType | undefined)[] = [];
for (const [name, code] of Object.entries(ENTRY_TYPES)) TYPE_BY_CODE[code] = name as EntryType;

/** The entry type for a code, or undefined for an unknown code. */
export function entryTypeOfCode(code: number): EntryType | undefined {
  return TYPE_BY_CODE[code];
}

/**
 * Conventional meanings for bits of `Entry.flags`. Storage stores the byte and never reads it:
 * the rules for tombstones belong to the server (INTERNALS.md, "Incremental compaction").
 */
export const ENTRY_FLAGS = {
  /** The entry cancels earlier entries and must outlive them (major compaction only). */
  tombstone: 0x01,
} as const;

export interface Entry {
  /** Position in the log, from 1. Entries keep their index forever, even through compaction. */
  index: number;
  /** Raft term in which a leader created the entry. */
  term: number;
  type: EntryType;
  /** The leader's clock when it appended the entry (ms); any finite number is stored exactly. */
  timestamp: number;
  /** 8 bits for the server's use (see ENTRY_FLAGS); 0 when absent. */
  flags?: number;
  /** The serialized operation; storage treats it as bytes. */
  payload: Uint8Array;
}

/** An entry read back from a log: `flags` is always present. */
export type StoredEntry = Entry & { flags: number };
