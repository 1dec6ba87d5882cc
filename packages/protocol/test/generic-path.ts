/**
 * What the generic path (the Serializer, then each message checked as a connection would) makes
 * of a frame: the reference the schema path (`decodeMessages`) is tested against.
 */
import { Serializer } from '@copycat/io';
import { validateRequest, type RequestType } from '@copycat/protocol';
import { readEnvelope, validateResponse } from '../src/validate.js';

const serializer = new Serializer();
const REFUSED = { accepted: false, messages: [] as unknown[] };

/** Whether a connection taking the generic path would accept every message of `frame`, and the checked messages. */
export function generic(
  frame: Uint8Array,
  requestTypeOf: (id: number) => RequestType | undefined,
): { accepted: boolean; messages: unknown[] } {
  let values: unknown;
  try {
    values = serializer.decode(frame);
  } catch {
    return REFUSED;
  }
  if (!Array.isArray(values) || values[0] !== 1) return REFUSED;
  const messages: unknown[] = [];
  for (const value of values.slice(1)) {
    const envelope = readEnvelope(value);
    try {
      if (envelope.kind === 'request') messages.push(validateRequest(value));
      else if (envelope.kind === 'response') {
        const type = requestTypeOf(envelope.id);
        if (type !== undefined) messages.push(validateResponse(type, value));
      } else return REFUSED;
    } catch {
      return REFUSED;
    }
  }
  return { accepted: true, messages };
}
