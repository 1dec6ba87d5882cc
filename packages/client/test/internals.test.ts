import { describe, expect, it } from 'vitest';
import { ApplicationError } from '@copycat/common';
import { Backoff } from '../src/backoff.js';
import { CommandSequencer, type PendingCommand, type PendingQuery } from '../src/command-sequencer.js';
import { ServerSelector } from '../src/server-selector.js';

const fixed = (value: number) => ({ random: () => value });

describe('Backoff', () => {
  it('doubles from initial to max, each delay jittered within [d/2, d)', () => {
    const low = new Backoff(fixed(0), 50, 1000);
    expect(Array.from({ length: 7 }, () => low.next())).toEqual([25, 50, 100, 200, 400, 500, 500]);
    const high = new Backoff(fixed(0.5), 50, 1000);
    expect(Array.from({ length: 3 }, () => high.next())).toEqual([37.5, 75, 150]);
  });

  it('starts again from initial after reset()', () => {
    const backoff = new Backoff(fixed(0), 50, 1000);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(25);
  });
});

describe('ServerSelector', () => {
  const members = ['a', 'b', 'c'];

  it("'prefer-leader' picks the leader unless it just failed, else goes round the members", () => {
    const selector = new ServerSelector('prefer-leader', fixed(0));
    expect(selector.select(members, 'c', undefined)).toBe('c');
    expect(selector.select(members, 'c', 'c')).toBe('a');
    expect(selector.select(members, undefined, undefined)).toBe('b');
  });

  it("'round-robin' takes turns and skips the server that failed", () => {
    const selector = new ServerSelector('round-robin', fixed(0));
    expect(
      [undefined, undefined, 'c', undefined].map((failed) => selector.select(members, 'a', failed)),
    ).toEqual(['a', 'b', 'a', 'b']);
  });

  it("'random' draws from the scheduler among the members that did not fail", () => {
    expect(new ServerSelector('random', fixed(0.99)).select(members, undefined, undefined)).toBe('c');
    expect(new ServerSelector('random', fixed(0.99)).select(members, undefined, 'c')).toBe('b');
    expect(new ServerSelector('random', fixed(0.5)).select(['only'], undefined, 'only')).toBe('only');
  });
});

describe('CommandSequencer', () => {
  function pending(sequencer: CommandSequencer): PendingCommand {
    const command: PendingCommand = {
      kind: 'command',
      sequence: sequencer.nextSequence(),
      compaction: 'release',
      epoch: 0,
      operation: new Uint8Array(),
      resolve: () => {},
      reject: () => {},
      attempt: 0,
      queued: true,
      connection: undefined,
      outcome: undefined,
      settled: false,
      timer: undefined,
    };
    sequencer.add(command);
    return command;
  }
  const ok = (eventIndex = 0) => ({ ok: true as const, index: 1, eventIndex, result: new Uint8Array() });

  it('acknowledges only the contiguous answers received', () => {
    const sequencer = new CommandSequencer();
    const [one, two, three] = [pending(sequencer), pending(sequencer), pending(sequencer)];
    sequencer.record(one, ok());
    sequencer.record(three, { ok: false, error: new ApplicationError('x') });
    expect(sequencer.commandSequence).toBe(1);
    sequencer.record(two, ok());
    expect(sequencer.commandSequence).toBe(3);
  });

  it('completes in sequence order and holds an answer until its events arrived', () => {
    const sequencer = new CommandSequencer();
    const [one, two] = [pending(sequencer), pending(sequencer)];
    sequencer.record(two, ok());
    expect(sequencer.drain(0).completed).toEqual([]);
    sequencer.record(one, ok(7));
    expect(sequencer.drain(6)).toEqual({ completed: [], waitingForEvents: true });
    expect(sequencer.drain(7)).toEqual({ completed: [one, two], waitingForEvents: false });
  });

  it('does not let a caller that gave up hold back the answers after it', () => {
    const sequencer = new CommandSequencer();
    const [one, two] = [pending(sequencer), pending(sequencer)];
    one.settled = true;
    sequencer.record(two, ok());
    expect(sequencer.drain(0).completed).toEqual([two]);
    expect(sequencer.commandSequence).toBe(0); // 1 still has to be answered before it is acknowledged
  });

  it('withdraws a command that never left: later commands and queries move down one sequence', () => {
    const sequencer = new CommandSequencer();
    const [, two, three] = [pending(sequencer), pending(sequencer), pending(sequencer)];
    const query: PendingQuery = {
      ...three,
      kind: 'query',
      sequence: sequencer.lastSequence,
      index: 0,
      consistency: 'linearizable',
    };
    sequencer.add(query);
    two.queued = false;
    three.queued = false;
    sequencer.withdraw(two);
    expect([three.sequence, three.queued, query.sequence, sequencer.lastSequence]).toEqual([2, true, 2, 2]);
    expect(sequencer.queued().map((o) => [o.kind, o.sequence])).toEqual([
      ['command', 1],
      ['command', 2],
      ['query', 2],
    ]);
  });
});
