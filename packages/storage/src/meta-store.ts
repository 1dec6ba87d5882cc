/**
 * The server's durable metadata: current term, vote, and the last configuration. Raft
 * requires term and vote on stable storage before any reply (§5.1, Figure 2), so every update
 * resolves only once synced.
 *
 * Two slot files, `<name>.meta.0` and `<name>.meta.1`, each holding a whole state with a
 * sequence number and a CRC-32C. An update overwrites the older slot and syncs it (one fsync);
 * a torn write spoils only that slot, and the other still holds the previous state. On open
 * the valid slot with the higher sequence wins.
 *
 *   0 u32 magic 'CCMT' | 4 u32 crc32c of bytes 8.. | 8 u64 sequence | 16 u32 body length
 *   20 u32 format version | 24 body: term (varuint), vote (u8 flag, string),
 *   configuration (u8 flag, index varuint, term varuint, timestamp f64, payload bytes)
 */
import { ClosedError, StorageCorruptionError, StorageError, type Logger } from '@copycat/common';
import { ByteBuffer, crc32c } from '@copycat/io';
import { readWholeFile, type StorageDirectory, type StorageFile } from './directory.js';
import { readU64, writeU64 } from './record.js';

const META_MAGIC = 0x43434d54; // 'CCMT'
const META_FORMAT = 1;
const META_HEADER = 24;

/** The configuration in effect, as the server encoded it (storage keeps the bytes). */
export interface StoredConfiguration {
  /** Index of the configuration entry. */
  index: number;
  term: number;
  timestamp: number;
  payload: Uint8Array;
}

export interface MetaState {
  term: number;
  /** The member voted for in `term`, or null. */
  votedFor: string | null;
  configuration: StoredConfiguration | null;
}

export interface MetaStore {
  readonly name: string;
  readonly term: number;
  readonly votedFor: string | null;
  readonly configuration: StoredConfiguration | null;
  /** A copy of the current state. */
  state(): MetaState;
  /** Changes the given fields together (one write, one fsync); resolves once durable. */
  update(changes: Partial<MetaState>): Promise<void>;
  storeTerm(term: number): Promise<void>;
  storeVote(votedFor: string | null): Promise<void>;
  storeConfiguration(configuration: StoredConfiguration | null): Promise<void>;
  close(): Promise<void>;
}

function encodeState(state: MetaState, sequence: number): Uint8Array {
  const body = ByteBuffer.allocate(64).writeVarUint(state.term);
  if (state.votedFor === null) body.writeU8(0);
  else body.writeU8(1).writeString(state.votedFor);
  const configuration = state.configuration;
  if (configuration === null) body.writeU8(0);
  else
    body
      .writeU8(1)
      .writeVarUint(configuration.index)
      .writeVarUint(configuration.term)
      .writeF64(configuration.timestamp)
      .writeBytes(configuration.payload);
  const bodyBytes = body.written();
  const bytes = new Uint8Array(META_HEADER + bodyBytes.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, META_MAGIC);
  writeU64(view, 8, sequence);
  view.setUint32(16, bodyBytes.length);
  view.setUint32(20, META_FORMAT);
  bytes.set(bodyBytes, META_HEADER);
  view.setUint32(4, crc32c(bytes, 8));
  return bytes;
}

function decodeState(bytes: Uint8Array): { state: MetaState; sequence: number } | undefined {
  if (bytes.length < META_HEADER) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== META_MAGIC) return undefined;
  const length = view.getUint32(16);
  if (length > bytes.length - META_HEADER) return undefined;
  if (view.getUint32(4) !== crc32c(bytes, 8, META_HEADER - 8 + length)) return undefined;
  if (view.getUint32(20) !== META_FORMAT) return undefined;
  try {
    const body = ByteBuffer.wrap(bytes.subarray(META_HEADER, META_HEADER + length));
    const term = body.readVarUint();
    const votedFor = body.readU8() === 1 ? body.readString() : null;
    const configuration =
      body.readU8() === 1
        ? {
            index: body.readVarUint(),
            term: body.readVarUint(),
            timestamp: body.readF64(),
            payload: body.readBytes().slice(),
          }
        : null;
    return { state: { term, votedFor, configuration }, sequence: readU64(view, 8) };
  } catch {
    return undefined;
  }
}

function checkChanges(changes: Partial<MetaState>): void {
  if (changes.term !== undefined && (!Number.isSafeInteger(changes.term) || changes.term < 0))
    throw new RangeError(`term must be a safe integer >= 0, got ${changes.term}`);
  if (changes.votedFor !== undefined && changes.votedFor !== null && typeof changes.votedFor !== 'string')
    throw new TypeError('votedFor must be a string or null');
  const c = changes.configuration;
  if (c !== undefined && c !== null) {
    if (!Number.isSafeInteger(c.index) || c.index < 0 || !Number.isSafeInteger(c.term) || c.term < 0)
      throw new RangeError('configuration index and term must be safe integers >= 0');
    if (!Number.isFinite(c.timestamp)) throw new RangeError('configuration timestamp must be finite');
    if (!(c.payload instanceof Uint8Array)) throw new TypeError('configuration payload must be a Uint8Array');
  }
}

export class FileMetaStore implements MetaStore {
  private current: MetaState;
  private version = 0;
  private persisted = 0;
  private sequence: number;
  private waiters: { version: number; resolve(): void; reject(error: unknown): void }[] = [];
  private writing: Promise<void> | undefined;
  private failure: StorageError | undefined;
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly files: [StorageFile, StorageFile],
    private readonly fsync: boolean,
    state: MetaState,
    sequence: number,
  ) {
    this.current = state;
    this.sequence = sequence;
  }

  static async open(
    directory: StorageDirectory,
    name: string,
    fsync: boolean,
    logger: Logger,
  ): Promise<FileMetaStore> {
    const names = [`${name}.meta.0`, `${name}.meta.1`] as const;
    const existing = new Set(await directory.list());
    let created = false;
    const files: StorageFile[] = [];
    for (const fileName of names) {
      if (existing.has(fileName)) files.push(await directory.open(fileName));
      else {
        files.push(await directory.create(fileName));
        created = true;
      }
    }
    if (created && fsync) await directory.sync();
    let best: { state: MetaState; sequence: number } | undefined;
    let invalid = 0;
    for (const [i, file] of files.entries()) {
      const bytes = await readWholeFile(file);
      const decoded = decodeState(bytes);
      if (decoded === undefined) {
        if (bytes.length > 0) {
          invalid++;
          logger.warn('metadata slot is torn or corrupt; using the other one', { file: names[i] });
        }
      } else if (best === undefined || decoded.sequence > best.sequence) best = decoded;
    }
    if (best === undefined && invalid > 0) {
      for (const file of files) await file.close();
      throw new StorageCorruptionError(
        `metadata ${directory.path}/${name}.meta.*: no valid copy (both slots fail their checksum)`,
      );
    }
    const state = best?.state ?? { term: 0, votedFor: null, configuration: null };
    return new FileMetaStore(name, [files[0]!, files[1]!], fsync, state, best?.sequence ?? 0);
  }

  get term(): number {
    return this.current.term;
  }
  get votedFor(): string | null {
    return this.current.votedFor;
  }
  get configuration(): StoredConfiguration | null {
    return this.current.configuration;
  }

  state(): MetaState {
    return { ...this.current };
  }

  update(changes: Partial<MetaState>): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError(`metadata store '${this.name}' is closed`));
    if (this.failure !== undefined)
      return Promise.reject(
        new StorageError(`metadata store '${this.name}' failed: ${this.failure.message}`, {
          cause: this.failure,
        }),
      );
    try {
      checkChanges(changes);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const configuration = changes.configuration;
    this.current = {
      term: changes.term ?? this.current.term,
      votedFor: changes.votedFor !== undefined ? changes.votedFor : this.current.votedFor,
      configuration:
        configuration === undefined
          ? this.current.configuration
          : configuration === null
            ? null
            : { ...configuration, payload: configuration.payload.slice() },
    };
    const version = ++this.version;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ version, resolve, reject }));
    this.writing ??= this.persist();
    return done;
  }

  storeTerm(term: number): Promise<void> {
    return this.update({ term });
  }
  storeVote(votedFor: string | null): Promise<void> {
    return this.update({ votedFor });
  }
  storeConfiguration(configuration: StoredConfiguration | null): Promise<void> {
    return this.update({ configuration });
  }

  /** Writes the latest state until it is persisted; concurrent updates share a write. */
  private async persist(): Promise<void> {
    try {
      while (this.persisted < this.version && !this.closed) {
        const version = this.version;
        const sequence = this.sequence + 1;
        const file = this.files[sequence % 2]!;
        await file.write(encodeState(this.current, sequence), 0);
        if (this.fsync) await file.sync();
        this.sequence = sequence;
        this.persisted = version;
        const waiters = this.waiters;
        this.waiters = waiters.filter((w) => w.version > version);
        for (const waiter of waiters) if (waiter.version <= version) waiter.resolve();
      }
    } catch (error) {
      this.failure =
        error instanceof StorageError
          ? error
          : new StorageError(`metadata store '${this.name}': ${String(error)}`, { cause: error });
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) waiter.reject(this.failure);
    } finally {
      this.writing = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writing;
    this.closed = true;
    for (const file of this.files) await file.close().catch(() => {});
  }

  /** Simulated crash: stop, reject what is pending, close. */
  async abandon(): Promise<void> {
    this.closed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters)
      waiter.reject(new ClosedError(`metadata store '${this.name}' stopped by a simulated crash`));
    await this.writing?.catch(() => {});
    for (const file of this.files) await file.close().catch(() => {});
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
