import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  ConfigurationError,
  ConnectionError,
  NoLeaderError,
  TimeoutError,
  sleep,
} from '@copycat/common';
import { History, SimulatedScheduler, classifyDefinite, defaultClassifier } from '@copycat/testing';

describe('History.record', () => {
  it('records invoke then ok with the output, and returns the result', async () => {
    let now = 100;
    const history = new History(() => now);
    const result = await history.record('c1', { name: 'get', key: 'x' }, async () => {
      now = 120;
      return 'v1';
    });
    expect(result).toBe('v1');
    expect(history.events).toEqual([
      { type: 'invoke', id: 0, process: 'c1', time: 100, op: { name: 'get', key: 'x' } },
      { type: 'ok', id: 0, process: 'c1', time: 120, output: 'v1' },
    ]);
  });

  it('records an unknown outcome (info) for timeouts, lost connections, closes and unknown errors, and rethrows', async () => {
    const history = new History();
    for (const error of [
      new TimeoutError('t'),
      new ConnectionError('c'),
      new ClosedError('x'),
      new NoLeaderError('n'),
      new Error('weird'),
      'not even an error',
    ]) {
      await expect(
        history.record('c1', { name: 'put', key: 'x', input: 1 }, () => Promise.reject(error as Error)),
      ).rejects.toBe(error);
    }
    const completions = history.events.filter((e) => e.type !== 'invoke');
    expect(completions.map((e) => e.type)).toEqual(['info', 'info', 'info', 'info', 'info', 'info']);
    expect(completions[0]).toMatchObject({ error: 'TIMEOUT: t' });
  });

  it('records fail only for errors that prove the operation did not happen', async () => {
    const history = new History();
    const definite = Object.assign(new Error('rejected by validation'), { definite: true });
    await history.record('c1', { name: 'put' }, () => Promise.reject(definite)).catch(() => {});
    await history
      .record('c1', { name: 'put' }, () => Promise.reject(new ConfigurationError('bad')))
      .catch(() => {});
    expect(history.events.filter((e) => e.type === 'fail').length).toBe(2);
    expect(defaultClassifier(new NoLeaderError('x'))).toBe('info');
    expect(classifyDefinite('NO_LEADER')(new NoLeaderError('x'))).toBe('fail');
    expect(classifyDefinite('NO_LEADER')(new TimeoutError('x'))).toBe('info');
    await history
      .record(
        'c2',
        { name: 'put' },
        () => Promise.reject(new NoLeaderError('x')),
        classifyDefinite('NO_LEADER'),
      )
      .catch(() => {});
    expect(history.events.at(-1)!.type).toBe('fail');
  });

  it('stamps events with virtual time when clocked by the simulated scheduler', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const history = new History(sim.now);
    const call = history.record('c1', { name: 'read' }, async () => {
      await sleep(sim, 25);
      return 7;
    });
    await sim.runUntilSettled(call);
    expect(history.events.map((e) => e.time)).toEqual([0, 25]);
  });
});

describe('History: manual events and operations', () => {
  it('pairs events into operations; pending and info operations never return', () => {
    const history = new History();
    const a = history.invoke('p1', { name: 'write', input: 1 });
    const b = history.invoke('p2', { name: 'read' });
    const c = history.invoke('p3', { name: 'write', input: 2 });
    history.invoke('p4', { name: 'write', input: 3 });
    history.ok(b, 1);
    history.info(a, new TimeoutError('late'));
    history.fail(c, 'rejected');
    expect(history.pending().map((e) => e.process)).toEqual(['p4']);
    expect(history.size).toBe(4);
    const ops = history.operations();
    expect(ops.map((op) => [op.id, op.outcome, op.call, op.return])).toEqual([
      [0, 'info', 0, Infinity],
      [1, 'ok', 1, 4],
      [2, 'fail', 2, 6],
      [3, 'pending', 3, Infinity],
    ]);
    expect(ops[1]).toMatchObject({ name: 'read', output: 1, process: 'p2' });
    expect(ops[0]).toMatchObject({ error: 'TIMEOUT: late', input: 1 });
  });

  it('refuses impossible event sequences', () => {
    const history = new History();
    const id = history.invoke('p1', { name: 'read' });
    history.ok(id, 1);
    expect(() => history.ok(id, 2)).toThrow(/not outstanding/);
    expect(() => history.info(99)).toThrow(/not outstanding/);
    expect(() => history.invoke('p1', { name: '' })).toThrow(TypeError);
    expect(() =>
      History.fromEvents([
        { type: 'invoke', id: 1, process: 'a', time: 0, op: { name: 'read' } },
        { type: 'ok', id: 1, process: 'b', time: 1 },
      ]),
    ).toThrow(/invoked by a but completed by b/);
    expect(() =>
      History.fromEvents([
        { type: 'invoke', id: 1, process: 'a', time: 0, op: { name: 'read' } },
        { type: 'invoke', id: 1, process: 'b', time: 0, op: { name: 'read' } },
      ]),
    ).toThrow(/already used/);
  });

  it('round-trips through JSON lines, for histories of real-process chaos tests', () => {
    const history = new History(() => 5);
    const a = history.invoke('p1', { name: 'cas', key: 'k', input: { expect: null, update: 'v' } });
    const b = history.invoke(2, { name: 'get', key: 'k' });
    history.ok(a, true);
    history.info(b, new TimeoutError('slow'));
    history.invoke('p3', { name: 'get', key: 'k' });
    const dir = mkdtempSync(path.join(tmpdir(), 'copycat-history-'));
    const file = path.join(dir, 'history.jsonl');
    history.writeFile(file);
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBe(5);
    const copy = History.readFile(file);
    expect(copy.events).toEqual(history.events);
    expect(copy.operations()).toEqual(history.operations());
    // Ids continue after the highest one read.
    expect(copy.invoke('p4', { name: 'get' })).toBe(3);
  });

  it('reports the line of a malformed JSON lines history', () => {
    expect(() =>
      History.fromJsonLines(
        '{"type":"invoke","id":0,"process":"a","time":0,"op":{"name":"read"}}\nnot json\n',
      ),
    ).toThrow(/line 2/);
    expect(() => History.fromJsonLines('{"type":"bogus","id":0,"process":"a","time":0}')).toThrow(
      /line 1: unknown event type/,
    );
    expect(() => History.fromJsonLines('{"type":"invoke","id":0,"process":"a","time":0,"op":{}}')).toThrow(
      /op.name/,
    );
    expect(History.fromJsonLines('\n\n').events).toEqual([]);
  });
});
