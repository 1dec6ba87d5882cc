/** Compact builders for hand-written histories: `[call, return]` are times. */
import type { OperationInput, ProcessId } from '@copycat/testing';

type Extra = { key?: string; input?: unknown; output?: unknown };

/** A completed (ok) operation. */
export function ok(
  process: ProcessId,
  name: string,
  call: number,
  ret: number,
  extra: Extra = {},
): OperationInput {
  return { process, name, call, return: ret, outcome: 'ok', ...extra };
}

/** An operation with unknown outcome (timeout, crash): it may take effect after `call`, or never. */
export function info(process: ProcessId, name: string, call: number, extra: Extra = {}): OperationInput {
  return { process, name, call, outcome: 'info', ...extra };
}

/** An operation that certainly did not take effect. */
export function failed(
  process: ProcessId,
  name: string,
  call: number,
  ret: number,
  extra: Extra = {},
): OperationInput {
  return { process, name, call, return: ret, outcome: 'fail', ...extra };
}
