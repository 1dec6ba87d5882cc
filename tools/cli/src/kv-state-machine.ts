import { ApplicationError } from '@copycat/common';
import { StateMachine, type Commit, type Session, type StateMachineExecutor } from '@copycat/server';

/**
 * The replicas' state machine for the CLI, the chaos test and the cluster benchmark: named maps
 * of string keys to values, named counters, and `put` events for sessions that listen.
 *
 * Map operations take an optional `map` name (default `'default'`, the map `copycat cluster`
 * uses; `copycat map put NAME ...` uses `NAME`).
 *
 * | operation                             | kind    | result                                                          |
 * | ------------------------------------- | ------- | --------------------------------------------------------------- |
 * | `put({ map?, key, value })`           | command | the previous value, or `null`                                   |
 * | `get({ map?, key })`                  | query   | the value, or `null`                                            |
 * | `remove({ map?, key })`               | command | the removed value, or `null`                                    |
 * | `cas({ map?, key, expect, update })`  | command | `true` if the value was `expect` (`null`: absent), now `update` |
 * | `size({ map? })`                      | query   | the number of keys                                              |
 * | `keys({ map? })`                      | query   | the keys, sorted                                                |
 * | `incr({ key, by? })`                  | command | the counter's new value (`by` default 1)                        |
 * | `read({ key })`                       | query   | the counter's value (0 if never set)                            |
 * | `listen()` / `unlisten()`             | command | this session gets (or stops getting) every `put` as an event    |
 * | `serverStatus()`                      | query   | `RaftServer.status()` of the server evaluating it (see below)   |
 *
 * A `put` event is `{ map, key, value, previous }`, published to each listening session while the
 * put is applied. Absent values are `null` on the wire, so results compare the same in JSON
 * histories. `serverStatus` is not replicated state: it answers about the one server that
 * evaluates the query (`copycat status` asks the leader with a linearizable query). Nothing is
 * closed for compaction and there is no snapshot: a demo and test machine, not a store.
 */
export interface KeyValueOptions {
  /** The figures of the server this machine runs in, for the `serverStatus` query. */
  serverStatus?: () => unknown;
}

interface MapArgs {
  map?: string;
  key: string;
}

const DEFAULT_MAP = 'default';

export class KeyValueStateMachine extends StateMachine {
  private readonly maps = new Map<string, Map<string, unknown>>();
  private readonly counters = new Map<string, number>();
  /** Sessions that called `listen`, by id (a `Map` keeps the order they subscribed in). */
  private readonly listeners = new Map<number, Session>();

  constructor(private readonly options: KeyValueOptions = {}) {
    super();
  }

  configure(executor: StateMachineExecutor): void {
    executor.register(
      'put',
      (commit: Commit<MapArgs & { value: unknown }>) => {
        const { name, map, key } = this.locate(commit.operation.args, true);
        const value = commit.operation.args.value ?? null;
        const previous = map.get(key) ?? null;
        map.set(key, value);
        for (const session of this.listeners.values())
          session.publish('put', { map: name, key, value, previous });
        return previous;
      },
      { kind: 'command' },
    );
    executor.register(
      'get',
      (commit: Commit<MapArgs>) => {
        const { map, key } = this.locate(commit.operation.args, false);
        return map.get(key) ?? null;
      },
      { kind: 'query' },
    );
    executor.register(
      'remove',
      (commit: Commit<MapArgs>) => {
        const { map, key } = this.locate(commit.operation.args, false);
        const previous = map.get(key) ?? null;
        map.delete(key);
        return previous;
      },
      { kind: 'command' },
    );
    executor.register(
      'cas',
      (commit: Commit<MapArgs & { expect: unknown; update: unknown }>) => {
        const { map, key } = this.locate(commit.operation.args, true);
        const { expect, update } = commit.operation.args;
        if (!sameValue(map.get(key) ?? null, expect ?? null)) return false;
        map.set(key, update ?? null);
        return true;
      },
      { kind: 'command' },
    );
    executor.register(
      'size',
      (commit: Commit<{ map?: string } | undefined>) => this.named(commit.operation.args).size,
      { kind: 'query' },
    );
    executor.register(
      'keys',
      (commit: Commit<{ map?: string } | undefined>) => [...this.named(commit.operation.args).keys()].sort(),
      { kind: 'query' },
    );
    executor.register(
      'incr',
      (commit: Commit<{ key: string; by?: number }>) => {
        const { key, by = 1 } = commit.operation.args;
        if (typeof by !== 'number' || !Number.isFinite(by))
          throw new ApplicationError('incr: by must be a number');
        const value = (this.counters.get(checkKey(key)) ?? 0) + by;
        this.counters.set(key, value);
        return value;
      },
      { kind: 'command' },
    );
    executor.register(
      'read',
      (commit: Commit<{ key: string }>) => this.counters.get(checkKey(commit.operation.args.key)) ?? 0,
      { kind: 'query' },
    );
    executor.register(
      'listen',
      (commit: Commit) => {
        const session = commit.session;
        if (session === undefined) throw new ApplicationError('listen needs a client session');
        this.listeners.set(session.id, session);
        return true;
      },
      { kind: 'command' },
    );
    executor.register(
      'unlisten',
      (commit: Commit) => {
        return commit.session !== undefined && this.listeners.delete(commit.session.id);
      },
      { kind: 'command' },
    );
    executor.register('serverStatus', () => this.options.serverStatus?.() ?? null, { kind: 'query' });
  }

  override onSessionClosed(session: Session): void {
    this.listeners.delete(session.id);
  }

  /** The map named in `args` (an empty one if it does not exist, kept only if `create`) and the key. */
  private locate(args: MapArgs, create: boolean): { name: string; map: Map<string, unknown>; key: string } {
    const name = mapName(args.map);
    const key = checkKey(args.key);
    let map = this.maps.get(name);
    if (map === undefined) {
      map = new Map();
      if (create) this.maps.set(name, map);
    }
    return { name, map, key };
  }

  private named(args: { map?: string } | undefined): ReadonlyMap<string, unknown> {
    return this.maps.get(mapName(args?.map)) ?? new Map();
  }
}

function mapName(name: unknown): string {
  if (name === undefined || name === null) return DEFAULT_MAP;
  if (typeof name !== 'string' || name === '') throw new ApplicationError('map must be a non-empty string');
  return name;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new ApplicationError(`key must be a string, got ${typeof key}`);
  return key;
}

/** Equality of decoded values (strings, numbers, arrays, plain objects) for `cas`. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
