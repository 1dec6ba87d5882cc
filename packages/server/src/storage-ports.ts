import type { Log, MetaStore, StoredConfiguration } from '@copycat/storage';
import { decodeRecords, encodeEntries } from '@copycat/storage';
import type { Configuration } from './cluster/configuration.js';
import type { ConfigurationCodec } from './raft/context.js';
import type { HardState, MetaPort, RaftLog } from './raft/ports.js';
import type { EntryCodec } from './network/entry-codec.js';

/** The storage `Log` already has the shape the core needs; this only names the fact. */
export function raftLog(log: Log): RaftLog {
  return log;
}

/**
 * Term, vote and the committed configuration in the storage `MetaStore`. `load` reads what the
 * store holds (it was read when opened); `store` writes all three at once, one fsync.
 */
export function metaPort(meta: MetaStore, codec: ConfigurationCodec): MetaPort {
  const toStored = (c: Configuration | undefined): StoredConfiguration | null =>
    c === undefined
      ? null
      : { index: c.index, term: c.term, timestamp: c.time, payload: codec.encode(c.members) };
  return {
    load(): HardState {
      const c = meta.configuration;
      return {
        term: meta.term,
        votedFor: meta.votedFor ?? undefined,
        configuration:
          c === null
            ? undefined
            : { index: c.index, term: c.term, time: c.timestamp, members: codec.decode(c.payload) },
      };
    },
    store(state: HardState): Promise<void> {
      return meta.update({
        term: state.term,
        votedFor: state.votedFor ?? null,
        configuration: toStored(state.configuration),
      });
    },
  };
}

/** Append requests carry the storage's checksummed records. */
export const recordCodec: EntryCodec = {
  encode: (entries) => encodeEntries(entries),
  decode: (bytes) => decodeRecords(bytes),
};
