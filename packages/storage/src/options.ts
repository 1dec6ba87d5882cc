/**
 * Storage options: every default and every check in one place (like hashicorp/raft's
 * config.go). `resolveOptions` returns a complete, frozen set or throws ConfigurationError.
 */
import { ConfigurationError, noopLogger, type Logger } from '@copycat/common';
import { SEGMENT_HEADER_SIZE } from './segment-header.js';

export type StorageLevel = 'disk' | 'memory';

export interface CompactionOptions {
  /**
   * Fraction of a sealed segment's entries that must be released before the server rewrites
   * it (minor compaction). Default 0.5.
   */
  threshold?: number;
  /** How often the server looks for segments to rewrite (ms). Default 60 000. */
  minorInterval?: number;
  /** How often the server merges segments and drops tombstones (ms). Default 3 600 000. */
  majorInterval?: number;
  /** Entries appended since the last snapshot before the server takes a new one. Default 65 536. */
  snapshotEntries?: number;
}

export interface StorageOptions {
  /** `'disk'` (default) keeps files in `directory`; `'memory'` keeps the same files in memory. */
  level?: StorageLevel;
  /** Where files go. Required for `'disk'`; for `'memory'` only a label in messages. */
  directory?: string;
  /** Bytes after which a segment is sealed and a new one started. Default 32 MiB. */
  maxSegmentSize?: number;
  /** Indexes per segment after which a new one is started. Default 1 048 576. */
  maxEntriesPerSegment?: number;
  /**
   * `true` (default): `flush()` (and metadata and snapshot writes) end with fdatasync, so
   * acknowledged data survives power loss. `false`: they only hand data to the OS, which
   * survives a process crash but not a power loss (Copycat's `flushOnCommit = false`); after a
   * power loss such a log may fail to open.
   */
  fsync?: boolean;
  /** Bytes of recently appended records each log keeps in memory for reads. Default 8 MiB. */
  cacheSize?: number;
  /**
   * `true` (default; disk level only): every new segment file is filled with zeros to
   * `maxSegmentSize` (and synced) before it takes appends, the next one prepared in the
   * background, so a flush's fdatasync has no file size or extents to commit (about 1.8x the
   * bytes/s of appending to a growing file here). Segments take their full size on disk from
   * the start, and the next one is prepared ahead: a log holds up to two `maxSegmentSize`
   * more than its data. `false`: files grow as they are written. Ignored by the memory level.
   */
  preallocate?: boolean;
  /** Compaction thresholds, read by the server that drives compaction. */
  compaction?: CompactionOptions;
  /** Where recovery events (torn tails truncated, leftovers removed) and failures go. */
  logger?: Logger;
}

export interface ResolvedStorageOptions {
  readonly level: StorageLevel;
  readonly directory: string;
  readonly maxSegmentSize: number;
  readonly maxEntriesPerSegment: number;
  readonly fsync: boolean;
  readonly cacheSize: number;
  /** Effective value: always false for the memory level. */
  readonly preallocate: boolean;
  readonly compaction: Readonly<Required<CompactionOptions>>;
  readonly logger: Logger;
}

export const DEFAULT_STORAGE_OPTIONS = {
  level: 'disk',
  maxSegmentSize: 32 * 1024 * 1024,
  maxEntriesPerSegment: 1024 * 1024,
  fsync: true,
  cacheSize: 8 * 1024 * 1024,
  preallocate: true,
  compaction: { threshold: 0.5, minorInterval: 60_000, majorInterval: 3_600_000, snapshotEntries: 65_536 },
} as const;

/** Smallest segment: the header and one small record. */
export const MIN_SEGMENT_SIZE = SEGMENT_HEADER_SIZE + 64;
/** Largest segment: record offsets are 32-bit and kept well inside. */
export const MAX_SEGMENT_SIZE = 1024 * 1024 * 1024;

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(options: StorageOptions = {}): ResolvedStorageOptions {
  if (typeof options !== 'object' || options === null)
    throw new ConfigurationError('storage options must be an object');
  const level = options.level ?? DEFAULT_STORAGE_OPTIONS.level;
  if (level !== 'disk' && level !== 'memory')
    throw new ConfigurationError(`level must be 'disk' or 'memory', got ${String(level)}`);
  if (level === 'disk' && (typeof options.directory !== 'string' || options.directory.length === 0)) {
    throw new ConfigurationError("level 'disk' needs a directory");
  }
  if (options.directory !== undefined && typeof options.directory !== 'string')
    throw new ConfigurationError('directory must be a string');
  const compaction = options.compaction ?? {};
  const threshold = compaction.threshold ?? DEFAULT_STORAGE_OPTIONS.compaction.threshold;
  if (!(threshold > 0 && threshold <= 1))
    throw new ConfigurationError(`compaction.threshold must be in (0, 1], got ${threshold}`);
  const logger = options.logger ?? noopLogger;
  if (typeof logger.warn !== 'function')
    throw new ConfigurationError('logger must implement the Logger interface');
  const fsync = options.fsync ?? DEFAULT_STORAGE_OPTIONS.fsync;
  if (typeof fsync !== 'boolean') throw new ConfigurationError('fsync must be a boolean');
  const preallocate = options.preallocate ?? DEFAULT_STORAGE_OPTIONS.preallocate;
  if (typeof preallocate !== 'boolean') throw new ConfigurationError('preallocate must be a boolean');
  return Object.freeze({
    level,
    directory: options.directory ?? 'memory',
    maxSegmentSize: integer(
      'maxSegmentSize',
      options.maxSegmentSize ?? DEFAULT_STORAGE_OPTIONS.maxSegmentSize,
      MIN_SEGMENT_SIZE,
      MAX_SEGMENT_SIZE,
    ),
    maxEntriesPerSegment: integer(
      'maxEntriesPerSegment',
      options.maxEntriesPerSegment ?? DEFAULT_STORAGE_OPTIONS.maxEntriesPerSegment,
      1,
      2 ** 31,
    ),
    fsync,
    cacheSize: integer('cacheSize', options.cacheSize ?? DEFAULT_STORAGE_OPTIONS.cacheSize, 0, 2 ** 40),
    // The memory level has no file system to spare work: it keeps its files as they were.
    preallocate: level === 'disk' && preallocate,
    compaction: Object.freeze({
      threshold,
      minorInterval: integer(
        'compaction.minorInterval',
        compaction.minorInterval ?? DEFAULT_STORAGE_OPTIONS.compaction.minorInterval,
        1,
        2 ** 40,
      ),
      majorInterval: integer(
        'compaction.majorInterval',
        compaction.majorInterval ?? DEFAULT_STORAGE_OPTIONS.compaction.majorInterval,
        1,
        2 ** 40,
      ),
      snapshotEntries: integer(
        'compaction.snapshotEntries',
        compaction.snapshotEntries ?? DEFAULT_STORAGE_OPTIONS.compaction.snapshotEntries,
        1,
        2 ** 40,
      ),
    }),
    logger,
  });
}

/** Names of logs and stores become file names: keep them portable. */
export function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.]{0,99}$/.test(name)) {
    throw new ConfigurationError(
      `${kind} name must be 1-100 characters of letters, digits, '_' and '.', not starting with '.', got ${JSON.stringify(name)}`,
    );
  }
}
