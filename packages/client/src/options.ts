import {
  ConfigurationError,
  SystemScheduler,
  noopLogger,
  type Logger,
  type Scheduler,
} from '@copycat/common';
import { Serializer } from '@copycat/io';
import { CONSISTENCY_LEVELS, type ConsistencyLevel, type Transport } from '@copycat/protocol';

/**
 * Which server the client connects to.
 * - `prefer-leader`: the leader when one is known (commands then skip a forwarding hop), else
 *   the members in turn.
 * - `random`: any member, drawn from the scheduler's random source.
 * - `round-robin`: the members in turn.
 */
export type ConnectionStrategy = 'prefer-leader' | 'random' | 'round-robin';
export const CONNECTION_STRATEGIES: readonly ConnectionStrategy[] = [
  'prefer-leader',
  'random',
  'round-robin',
];

/**
 * What the client does when the cluster expired its session.
 * - `recover`: registers a new session and goes on (calls pending on the old one fail).
 * - `close`: the client closes.
 */
export type RecoveryStrategy = 'recover' | 'close';
export const RECOVERY_STRATEGIES: readonly RecoveryStrategy[] = ['recover', 'close'];

/** Delays between retries: `initial` doubling up to `max`, each drawn with jitter in [d/2, d). */
export interface RetryBackoffOptions {
  /** First delay, ms. Default 50. */
  readonly initial?: number;
  /** Largest delay, ms. Default 1000. */
  readonly max?: number;
}

export interface RaftClientOptions {
  /** How the client reaches servers (`@copycat/transport-ws`, `@copycat/transport-local`, ...). Required. */
  readonly transport: Transport;
  /** Encodes operations and decodes results and events; register user classes on it. Default: a new `Serializer`. */
  readonly serializer?: Serializer;
  /** The client's unique id. Default: a random id drawn from the scheduler. */
  readonly clientId?: string;
  /** Session timeout (ms) asked for at registration; 0 or absent: the server's default. */
  readonly sessionTimeout?: number;
  /** Default `prefer-leader`. */
  readonly connectionStrategy?: ConnectionStrategy;
  /** Default `recover`. */
  readonly recoveryStrategy?: RecoveryStrategy;
  /** How long one request to one server may take before the client tries again (ms). Default 2000. */
  readonly requestTimeout?: number;
  /** Backoff between retries. Default 50 ms doubling to 1000 ms. */
  readonly retryBackoff?: RetryBackoffOptions;
  /** Consistency of queries that do not choose one. Default `linearizable`. */
  readonly defaultConsistency?: ConsistencyLevel;
  /** Time, timers and randomness. Default: `new SystemScheduler()`. */
  readonly scheduler?: Scheduler;
  /** Default: logs nothing. */
  readonly logger?: Logger;
}

export interface ResolvedOptions {
  readonly transport: Transport;
  readonly serializer: Serializer;
  readonly clientId: string;
  readonly sessionTimeout: number;
  readonly connectionStrategy: ConnectionStrategy;
  readonly recoveryStrategy: RecoveryStrategy;
  readonly requestTimeout: number;
  readonly retryBackoff: Required<RetryBackoffOptions>;
  readonly defaultConsistency: ConsistencyLevel;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
}

export const DEFAULT_REQUEST_TIMEOUT = 2000;
export const DEFAULT_RETRY_BACKOFF: Required<RetryBackoffOptions> = { initial: 50, max: 1000 };

/** A value as an error message shows it. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === 'function');
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`${name} must be a positive finite number, got ${show(value)}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new ConfigurationError(`${name} must be one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** A random client id, e.g. `client-3f9a0c1e7b2d4a68`, drawn from the scheduler (deterministic under simulation). */
export function randomClientId(scheduler: Pick<Scheduler, 'random'>): string {
  const part = () =>
    Math.floor(scheduler.random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return `client-${part()}${part()}`;
}

/** Fills in defaults and refuses invalid options with a `ConfigurationError`, all in one place. */
export function resolveOptions(options: RaftClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new ConfigurationError('RaftClient options are required: { transport, ... }');
  }
  if (!hasMethods(options.transport, ['client'])) {
    throw new ConfigurationError('transport is required: an object with a client() method');
  }
  const scheduler = options.scheduler ?? new SystemScheduler();
  if (!hasMethods(scheduler, ['now', 'schedule', 'scheduleAtFixedRate', 'random'])) {
    throw new ConfigurationError(
      'scheduler must implement Scheduler (now, schedule, scheduleAtFixedRate, random)',
    );
  }
  const logger = options.logger ?? noopLogger;
  if (!hasMethods(logger, ['debug', 'info', 'warn', 'error', 'child'])) {
    throw new ConfigurationError('logger must implement Logger (debug, info, warn, error, child)');
  }
  const serializer = options.serializer ?? new Serializer();
  if (!hasMethods(serializer, ['encode', 'decode'])) {
    throw new ConfigurationError('serializer must be a Serializer (encode, decode)');
  }
  const clientId = options.clientId ?? randomClientId(scheduler);
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new ConfigurationError(`clientId must be a non-empty string, got ${show(clientId)}`);
  }
  const sessionTimeout = options.sessionTimeout ?? 0;
  if (typeof sessionTimeout !== 'number' || !Number.isFinite(sessionTimeout) || sessionTimeout < 0) {
    throw new ConfigurationError(`sessionTimeout must be a finite number >= 0, got ${show(sessionTimeout)}`);
  }
  const initial = positive(
    'retryBackoff.initial',
    options.retryBackoff?.initial ?? DEFAULT_RETRY_BACKOFF.initial,
  );
  const max = positive(
    'retryBackoff.max',
    options.retryBackoff?.max ?? Math.max(DEFAULT_RETRY_BACKOFF.max, initial),
  );
  if (max < initial) {
    throw new ConfigurationError(
      `retryBackoff.max (${max}) must be at least retryBackoff.initial (${initial})`,
    );
  }
  return {
    transport: options.transport,
    serializer,
    clientId,
    sessionTimeout,
    connectionStrategy: oneOf(
      'connectionStrategy',
      options.connectionStrategy ?? 'prefer-leader',
      CONNECTION_STRATEGIES,
    ),
    recoveryStrategy: oneOf('recoveryStrategy', options.recoveryStrategy ?? 'recover', RECOVERY_STRATEGIES),
    requestTimeout: positive('requestTimeout', options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT),
    retryBackoff: { initial, max },
    defaultConsistency: oneOf(
      'defaultConsistency',
      options.defaultConsistency ?? 'linearizable',
      CONSISTENCY_LEVELS,
    ),
    scheduler,
    logger,
  };
}
