export { Storage, type CrashOptions } from './storage.js';
export {
  DEFAULT_STORAGE_OPTIONS,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  resolveOptions,
  type CompactionOptions,
  type ResolvedStorageOptions,
  type StorageLevel,
  type StorageOptions,
} from './options.js';
export {
  ENTRY_FLAGS,
  ENTRY_TYPES,
  entryTypeOfCode,
  type Entry,
  type EntryType,
  type StoredEntry,
} from './entry.js';
export {
  RECORD_HEADER_SIZE,
  decodeRecords,
  encodeEntries,
  encodeEntry,
  recordSize,
  type RecordBatch,
} from './record.js';
export type { AppendOptions, CompactionResult, Log, LogStats, SegmentInfo } from './log.js';
export type { MetaState, MetaStore, StoredConfiguration } from './meta-store.js';
export type { SnapshotInfo, SnapshotReader, SnapshotStore, SnapshotWriter } from './snapshot-store.js';
export type { CrashMode } from './memory-directory.js';
export { SegmentCorruptionError } from './errors.js';
export { LOCK_FILE } from './lock.js';
