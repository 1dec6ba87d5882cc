import { StateMachine, type Commit, type StateMachineExecutor } from '@copycat/server';

/** The demo replica's state machine: a string-keyed map (put, get, remove, size, keys). */
export class KeyValueStateMachine extends StateMachine {
  private readonly map = new Map<string, unknown>();

  configure(executor: StateMachineExecutor): void {
    executor.register('put', (commit: Commit<{ key: string; value: unknown }>) => {
      const previous = this.map.get(commit.operation.args.key);
      this.map.set(commit.operation.args.key, commit.operation.args.value);
      return previous;
    });
    executor.register('get', (commit: Commit<{ key: string }>) => this.map.get(commit.operation.args.key));
    executor.register('remove', (commit: Commit<{ key: string }>) => {
      const previous = this.map.get(commit.operation.args.key);
      this.map.delete(commit.operation.args.key);
      return previous;
    });
    executor.register('size', () => this.map.size);
  }
}
