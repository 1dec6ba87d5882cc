import {
  StateMachine,
  type Commit,
  type StateMachineExecutor,
} from '../../src/state-machine/state-machine.js';

/** A register and a counter; records every applied index to check apply-once and order. */
export class TestStateMachine extends StateMachine {
  value: unknown = undefined;
  counter = 0;
  readonly applied: { index: number; name: string; args: unknown }[] = [];

  configure(executor: StateMachineExecutor): void {
    const record = (commit: Commit) => {
      const last = this.applied.at(-1);
      if (last !== undefined && commit.index <= last.index) {
        throw new Error(`invariant: index ${commit.index} applied after ${last.index}`);
      }
      this.applied.push({ index: commit.index, name: commit.operation.name, args: commit.operation.args });
    };
    executor.register('set', (commit: Commit<unknown>) => {
      record(commit);
      const previous = this.value;
      this.value = commit.operation.args;
      return previous;
    });
    executor.register('add', (commit: Commit<number>) => {
      record(commit);
      this.counter += commit.operation.args;
      return this.counter;
    });
  }
}
