import type { Session } from '../../src/session/server-session.js';
import {
  StateMachine,
  type SessionEventContext,
  type Commit,
  type StateMachineExecutor,
} from '../../src/state-machine/state-machine.js';

const COMMAND = { kind: 'command' } as const;

/** A session hook call as one replica saw it. */
export interface HookCall {
  hook: 'registered' | 'expired' | 'closed';
  session: number;
  index: number;
}

/**
 * A register, a counter and a key-value map; records every applied index to check apply-once
 * and order, and every session hook with its index. `emit` publishes numbered events.
 */
export class TestStateMachine extends StateMachine {
  value: unknown = undefined;
  counter = 0;
  readonly map = new Map<string, unknown>();
  readonly applied: { index: number; name: string; args: unknown }[] = [];
  readonly hooks: HookCall[] = [];
  private readonly sessions = new Map<number, Session>();

  configure(executor: StateMachineExecutor): void {
    const record = (commit: Commit) => {
      const last = this.applied.at(-1);
      if (last !== undefined && commit.index <= last.index) {
        throw new Error(`invariant: index ${commit.index} applied after ${last.index}`);
      }
      this.applied.push({ index: commit.index, name: commit.operation.name, args: commit.operation.args });
    };
    executor.register(
      'set',
      (commit: Commit<unknown>) => {
        record(commit);
        const previous = this.value;
        this.value = commit.operation.args;
        return previous;
      },
      COMMAND,
    );
    executor.register(
      'add',
      (commit: Commit<number>) => {
        record(commit);
        this.counter += commit.operation.args;
        return this.counter;
      },
      COMMAND,
    );
    executor.register(
      'put',
      (commit: Commit<{ key: string; value: unknown }>) => {
        record(commit);
        const { key, value } = commit.operation.args;
        const previous = this.map.get(key);
        this.map.set(key, value);
        return previous;
      },
      COMMAND,
    );
    executor.register(
      'cas',
      (commit: Commit<{ key: string; expect: unknown; update: unknown }>) => {
        record(commit);
        const { key, expect, update } = commit.operation.args;
        if (this.map.get(key) !== expect) return false;
        this.map.set(key, update);
        return true;
      },
      COMMAND,
    );
    executor.register(
      'fail',
      (commit: Commit) => {
        record(commit);
        throw new Error('failing on purpose');
      },
      COMMAND,
    );
    /** Publishes `{ n }` as event 'n' to the given sessions (default: the caller's). */
    executor.register(
      'emit',
      (commit: Commit<{ n: number; to?: number[] }>) => {
        record(commit);
        const targets = commit.operation.args.to ?? [commit.session?.id ?? 0];
        for (const id of targets) this.sessions.get(id)?.publish('n', commit.operation.args.n);
        return commit.operation.args.n;
      },
      COMMAND,
    );
    // Queries: they read, and must not be recorded as applied entries.
    executor.register('get', (commit: Commit<string>) => this.map.get(commit.operation.args), {
      kind: 'query',
    });
    executor.register('read', () => this.counter, { kind: 'query' });
    executor.register('sessions', () => [...this.sessions.keys()], { kind: 'query' });
  }

  override onSessionRegistered(session: Session, at: SessionEventContext): void {
    this.sessions.set(session.id, session);
    this.hooks.push({ hook: 'registered', session: session.id, index: at.index });
  }

  override onSessionExpired(session: Session, at: SessionEventContext): void {
    this.hooks.push({ hook: 'expired', session: session.id, index: at.index });
  }

  override onSessionClosed(session: Session, at: SessionEventContext): void {
    this.sessions.delete(session.id);
    this.hooks.push({ hook: 'closed', session: session.id, index: at.index });
  }
}
