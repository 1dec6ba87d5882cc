import {
  ClosedError,
  ConfigurationError,
  IllegalMemberStateError,
  Listeners,
  SystemScheduler,
  noopLogger,
  type Listener,
  type ListenerRegistration,
  type Logger,
  type Scheduler,
} from '@copycat/common';
import { Serializer } from '@copycat/io';
import type { Transport, TransportServer } from '@copycat/protocol';
import { Storage, type Log, type MetaStore, type StorageOptions } from '@copycat/storage';
import { findMember, type Configuration, type Member, type MemberType } from './cluster/configuration.js';
import { resolveTiming, type RaftTiming, type RaftTimingOptions } from './config.js';
import { serveRaft } from './network/endpoint.js';
import { PeerPool } from './network/peer-pool.js';
import type { UnsafeRaftOptions } from './raft/context.js';
import { RaftNode, type NodeStatus } from './raft/raft-node.js';
import type { RoleName } from './roles/index.js';
import type { StateMachine } from './state-machine/state-machine.js';
import { metaPort, raftLog, recordCodec } from './storage-ports.js';
import { ClientService } from './session/client-service.js';
import { LeaderForwarder } from './session/leader-forwarder.js';

export type ServerState = RoleName;

export interface RaftServerOptions extends RaftTimingOptions {
  /** Where this server listens and how its peers reach it (`host:port` for WebSocket). */
  address: string;
  /** How servers talk: pass `new WebSocketTransport()`, a local transport, or your own. */
  transport: Transport;
  /** A `Storage`, or the options to create one (`{ directory, level: 'disk' | 'memory' }`). */
  storage: Storage | StorageOptions;
  /** Creates the replicated state machine (called once per server start). */
  stateMachine: () => StateMachine;
  /** Time, timers and randomness; the simulated scheduler makes a cluster deterministic. */
  scheduler?: Scheduler;
  logger?: Logger;
  /** Decodes command arguments; register your classes on it. */
  serializer?: Serializer;
  /** Per-request timeout between servers (ms). Default: the election timeout. */
  requestTimeout?: number;
  /**
   * Unacknowledged command results kept per client session, for retries (oldest dropped first;
   * a retry of a dropped one fails with COMMAND_FAILURE). Default 16384.
   */
  maxResultsPerSession?: number;
  /** Test-only switches that break Raft rules on purpose (to test the tests). */
  unsafe?: UnsafeRaftOptions;
}

/** The cluster as this server sees it, and membership operations. */
export interface ClusterView {
  /** The members of the configuration in effect. */
  readonly members: readonly Member[];
  /** Moves a member one rank up: reserve → passive → active. */
  promote(address: string): Promise<void>;
  /** Moves a member one rank down: active → passive → reserve. */
  demote(address: string): Promise<void>;
  /** Sets a member's type directly (promotion to active waits until its log caught up). */
  setType(address: string, type: MemberType): Promise<void>;
  onMembershipChange(listener: Listener<Configuration>): ListenerRegistration;
}

const LOG_NAME = 'raft';

/**
 * A Raft server: one member of a Copycat cluster. It owns its storage (log and metadata), a
 * listening endpoint on the transport, connections to its peers, and the user's state machine.
 */
export class RaftServer {
  readonly address: string;
  private readonly options: RaftServerOptions;
  private readonly timing: RaftTiming;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly storage: Storage;
  private readonly ownsStorage: boolean;
  private readonly stateChanges = new Listeners<ServerState>();
  private readonly membershipChanges = new Listeners<Configuration>();
  private node: RaftNode | undefined;
  private listener: TransportServer | undefined;
  private peers: PeerPool | undefined;
  private forwarder: LeaderForwarder | undefined;
  private clients: ClientService | undefined;
  private log: Log | undefined;
  private meta: MetaStore | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(options: RaftServerOptions) {
    if (typeof options.address !== 'string' || options.address === '')
      throw new ConfigurationError('address is required');
    if (options.transport === undefined) throw new ConfigurationError('transport is required');
    if (typeof options.stateMachine !== 'function')
      throw new ConfigurationError('stateMachine must be a factory function');
    this.options = options;
    this.address = options.address;
    this.timing = resolveTiming(options);
    this.scheduler = options.scheduler ?? new SystemScheduler();
    this.logger = (options.logger ?? noopLogger).child(options.address);
    if (options.storage instanceof Storage) {
      this.storage = options.storage;
      this.ownsStorage = false;
    } else {
      this.storage = new Storage({ ...options.storage, logger: this.logger });
      this.ownsStorage = true;
    }
  }

  /** Forms a new cluster from `members` (all active), or restarts with the stored configuration. */
  bootstrap(members: readonly string[] = [this.address]): Promise<void> {
    return this.start((node) => node.bootstrap(members));
  }

  /** Joins a running cluster through any of `members`, as `type` (default `active`). */
  join(members: readonly string[], type: MemberType = 'active'): Promise<void> {
    return this.start((node) => node.join(members, type));
  }

  private start(run: (node: RaftNode) => void | Promise<void>): Promise<void> {
    if (this.stopped) return Promise.reject(new ClosedError('server was shut down'));
    if (this.starting !== undefined)
      return Promise.reject(new IllegalMemberStateError('server already started'));
    this.starting = (async () => {
      const serializer = this.options.serializer ?? new Serializer();
      this.log = await this.storage.openLog(LOG_NAME);
      this.meta = await this.storage.openMetaStore(LOG_NAME);
      const log = this.log;
      const peers = new PeerPool({
        client: this.options.transport.client(),
        codec: recordCodec,
        logger: this.logger,
        requestTimeout: this.options.requestTimeout ?? this.timing.electionTimeout,
        member: (address) =>
          this.node === undefined ? undefined : findMember(this.node.context.configuration, address),
      });
      const configurationCodec = {
        encode: (members: readonly Member[]) => serializer.encode(members),
        decode: (payload: Uint8Array) => serializer.decode<Member[]>(payload),
      };
      const node = new RaftNode({
        address: this.address,
        log: raftLog(log),
        meta: metaPort(this.meta, configurationCodec),
        peers,
        scheduler: this.scheduler,
        timing: this.timing,
        stateMachine: this.options.stateMachine(),
        logger: this.logger,
        serializer,
        release: (index) => void log.release(index),
        ...(this.options.maxResultsPerSession === undefined
          ? {}
          : { maxResultsPerSession: this.options.maxResultsPerSession }),
        ...(this.options.unsafe === undefined ? {} : { unsafe: this.options.unsafe }),
      });
      this.node = node;
      this.peers = peers;
      const requestTimeout = this.options.requestTimeout ?? this.timing.electionTimeout;
      const waitTimeout = 2 * this.timing.electionTimeout;
      // A forwarded request may wait at the leader for up to waitTimeout before it answers.
      this.forwarder = new LeaderForwarder(
        this.options.transport.client(),
        waitTimeout + requestTimeout,
        this.logger,
      );
      const clients = new ClientService({
        node,
        sessions: node.sessions,
        forwarder: this.forwarder,
        serializer,
        scheduler: this.scheduler,
        logger: this.logger,
        waitTimeout,
        defaultSessionTimeout: this.timing.sessionTimeout,
        staleAfter: 2 * this.timing.heartbeatInterval,
      });
      this.clients = clients;
      node.onStateChange((state) => this.stateChanges.emit(state));
      node.context.configurationChanges.add((configuration) => this.membershipChanges.emit(configuration));
      const ready = node;
      this.listener = this.options.transport.server();
      await this.listener.listen(this.address, (connection) => {
        serveRaft(connection, {
          codec: recordCodec,
          logger: this.logger,
          handle: (request) => ready.handle(request),
        });
        clients.serve(connection);
      });
      await run(node);
    })();
    return this.starting;
  }

  private running(): RaftNode {
    if (this.node === undefined) throw new IllegalMemberStateError('server is not started');
    if (this.stopped) throw new ClosedError('server was shut down');
    return this.node;
  }

  get state(): ServerState {
    return this.node?.context.roleName ?? 'inactive';
  }

  get term(): number {
    return this.node?.context.term ?? 0;
  }

  /** The leader's address as this server knows it. */
  get leader(): string | undefined {
    return this.node?.context.leader;
  }

  get commitIndex(): number {
    return this.node?.context.commitIndex ?? 0;
  }

  get lastApplied(): number {
    return this.node?.applyLoop.lastApplied ?? 0;
  }

  /** A plain object of the server's figures: role, term, indexes, members and counters. */
  status(): NodeStatus {
    return this.running().status();
  }

  get cluster(): ClusterView {
    const rank: MemberType[] = ['reserve', 'passive', 'active'];
    const step = async (address: string, by: 1 | -1) => {
      const node = this.running();
      const member = findMember(node.context.configuration, address);
      if (member === undefined) throw new ConfigurationError(`${address} is not a member`);
      const next = rank[rank.indexOf(member.type) + by];
      if (next === undefined) throw new IllegalMemberStateError(`${address} is already ${member.type}`);
      await node.setMemberType(address, next);
    };
    const members = () => this.node?.context.configuration.members ?? [];
    return {
      get members() {
        return members();
      },
      promote: (address) => step(address, 1),
      demote: (address) => step(address, -1),
      setType: (address, type) => this.running().setMemberType(address, type),
      onMembershipChange: (listener) => this.membershipChanges.add(listener),
    };
  }

  onStateChange(listener: Listener<ServerState>): ListenerRegistration {
    return this.stateChanges.add(listener);
  }

  /** Hands leadership to `address` (this server must be the leader). */
  transferLeadership(address: string): Promise<void> {
    return this.running().transferLeadership(address);
  }

  /**
   * Submits a command on the leader and resolves with the state machine's result once applied.
   * For tests and embedding before client sessions exist: it has no exactly-once guarantee
   * across retries (that is what `RaftClient` sessions are for).
   */
  async submitInternal(name: string, args?: unknown): Promise<unknown> {
    return this.running().submit(name, args);
  }

  /** Leaves the cluster (a configuration change), then shuts down. */
  async leave(): Promise<void> {
    await this.running().leave();
    await this.shutdown();
  }

  /**
   * Stops at once, like a killed process: timers stop and connections drop, nothing is flushed.
   * For simulations, together with `Storage.crash()`; use `shutdown()` to stop cleanly.
   */
  async abort(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.node?.close();
    this.clients?.close();
    await Promise.allSettled([this.listener?.close(), this.peers?.close(), this.forwarder?.close()]);
  }

  /** The Raft node inside, for tests and tools that check its invariants. Not a stable API. */
  inspect(): RaftNode | undefined {
    return this.node;
  }

  /** Stops this server without leaving the cluster: it stays a member and can restart. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.starting?.catch(() => {});
    this.node?.close();
    this.clients?.close();
    await this.listener?.close().catch(() => {});
    await this.peers?.close();
    await this.forwarder?.close();
    try {
      await this.log?.flush();
    } catch (error) {
      this.logger.warn('final flush failed', { error });
    }
    if (this.ownsStorage) await this.storage.close();
    else {
      await this.log?.close().catch(() => {});
      await this.meta?.close().catch(() => {});
    }
  }
}
