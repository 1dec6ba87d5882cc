/**
 * Detects whether synchronous code created or settled a promise, using V8's promise hooks
 * (`node:v8` `promiseHooks`). The simulated scheduler uses it for two things:
 * - the `drain: 'auto'` fast path: after a timer task, yield to the macrotask queue (which runs
 *   every queued microtask) only if the task touched a promise;
 * - `runSync*`: fail loudly when a task touched a promise, because nothing would drain the
 *   continuations it queued.
 * The hook is installed only while someone needs it (reference counted): V8 takes slower
 * paths for every promise while a hook is installed.
 */
import { promiseHooks } from 'node:v8';

let activity = false;
let users = 0;
let stop: (() => void) | undefined;

const mark = () => {
  activity = true;
};

export function acquirePromiseWatch(): void {
  if (users++ === 0) stop = promiseHooks.createHook({ init: mark, settled: mark }) as () => void;
}

export function releasePromiseWatch(): void {
  if (--users === 0) {
    stop?.();
    stop = undefined;
  }
}

/** Clears the flag; call right before running the code to watch. */
export function resetPromiseActivity(): void {
  activity = false;
}

/** True if a promise was created or settled since the last reset (while watched). */
export function promiseActivitySeen(): boolean {
  return activity;
}

/**
 * Resolves from the macrotask queue. Node runs every queued microtask (promise continuations,
 * `queueMicrotask`) and the `process.nextTick` queue before any macrotask, including the ones
 * those microtasks queue in turn, so when this resolves all of them have run.
 */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
