import { ConfigurationError } from '@copycat/common';
import {
  COMPACTION_MODES,
  CONSISTENCY_LEVELS,
  type Command,
  type CompactionMode,
  type ConsistencyLevel,
  type Query,
} from '@copycat/protocol';
import { show } from './options.js';

export interface CommandOptions {
  /** How the log may compact the entry once the state machine closed it. Default `release`. */
  readonly compaction?: CompactionMode;
}

export interface QueryOptions {
  /** Where and how the query is evaluated. Default: the client's `defaultConsistency`. */
  readonly consistency?: ConsistencyLevel;
}

/** Options of one `submit` call. */
export interface SubmitOptions {
  /**
   * Milliseconds before the call rejects with `TimeoutError` (its outcome is then unknown). A
   * command keeps being retried in the background until the cluster answered it, so that the
   * session's later commands are not stuck behind a gap; its late result is dropped.
   */
  readonly timeout?: number;
  /** For queries: overrides the operation's and the client's consistency. */
  readonly consistency?: ConsistencyLevel;
}

/** The result type an operation was declared with: `ResultOf<typeof op>`. */
export type ResultOf<T> =
  T extends Command<unknown, infer R> ? R : T extends Query<unknown, infer R> ? R : never;

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ConfigurationError(`an operation name must be a non-empty string, got ${show(name)}`);
  }
}

function checkOneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): void {
  if (value !== undefined && !(allowed as readonly unknown[]).includes(value)) {
    throw new ConfigurationError(`${what} must be one of ${allowed.join(', ')}, got ${show(value)}`);
  }
}

/**
 * A command: logged, replicated and applied once. Name the result type to type `submit`:
 * `await client.submit(command<number>('add', { by: 1 }))` is a `number`.
 */
export function command<TResult = unknown, TArgs = unknown>(
  name: string,
  args?: TArgs,
  options: CommandOptions = {},
): Command<TArgs, TResult> {
  checkName(name);
  checkOneOf('compaction', options.compaction, COMPACTION_MODES);
  const base = { kind: 'command' as const, name, args: args as TArgs };
  return options.compaction === undefined ? base : { ...base, compaction: options.compaction };
}

/** A query: never logged; evaluated at the chosen consistency level. */
export function query<TResult = unknown, TArgs = unknown>(
  name: string,
  args?: TArgs,
  options: QueryOptions = {},
): Query<TArgs, TResult> {
  checkName(name);
  checkOneOf('consistency', options.consistency, CONSISTENCY_LEVELS);
  const base = { kind: 'query' as const, name, args: args as TArgs };
  return options.consistency === undefined ? base : { ...base, consistency: options.consistency };
}

/** Checks an operation handed to `submit` (it may have been built by hand) and the call options. */
export function checkSubmit(operation: Command | Query, options: SubmitOptions): void {
  if (typeof operation !== 'object' || (operation as unknown) === null) {
    throw new ConfigurationError('submit needs an operation: command(...) or query(...)');
  }
  const kind = (operation as { readonly kind?: unknown }).kind;
  if (kind !== 'command' && kind !== 'query') {
    throw new ConfigurationError(`an operation's kind must be 'command' or 'query', got ${show(kind)}`);
  }
  checkName(operation.name);
  if (operation.kind === 'command') checkOneOf('compaction', operation.compaction, COMPACTION_MODES);
  else checkOneOf('consistency', operation.consistency, CONSISTENCY_LEVELS);
  checkOneOf('consistency', options.consistency, CONSISTENCY_LEVELS);
  const timeout = options.timeout;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)) {
    throw new ConfigurationError(`timeout must be a positive finite number, got ${show(timeout)}`);
  }
}
