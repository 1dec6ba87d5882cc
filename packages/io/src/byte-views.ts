/**
 * `subarray` and `set` of byte arrays, called as constant functions. On the hot paths (every
 * message is encoded, framed and decoded with them) `bytes.subarray(...)` costs a call to V8's
 * property-lookup stub each time: Node 20's optimizing compiler does not fold the lookup of a
 * typed array's methods into the code, and a constant function needs no lookup.
 */
// Called with `.call` and the array as `this`: taken off the prototype on purpose.
// eslint-disable-next-line @typescript-eslint/unbound-method
const subarray = Uint8Array.prototype.subarray;
// eslint-disable-next-line @typescript-eslint/unbound-method
const set = Uint8Array.prototype.set;

/** `bytes.subarray(start, end)`: a view, no copy. */
export function viewOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return subarray.call(bytes, start, end);
}

/** `target.set(source, offset)`. */
export function copyInto(target: Uint8Array, source: Uint8Array, offset: number): void {
  set.call(target, source, offset);
}
