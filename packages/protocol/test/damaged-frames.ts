/**
 * Arbitrary messages and frames for the codec tests: requests and responses as the encoders
 * take them, and frames of them written generically, in any key order, with unknown fields,
 * with a field replaced by anything, cut short, or with a byte changed.
 */
import fc from 'fast-check';
import { Serializer } from '@copycat/io';
import { MessageType, type RequestType, type Response } from '@copycat/protocol';
import { REQUEST_TYPES, RESPONSE_ARBITRARIES, anyRequest } from './fixtures.js';

const serializer = new Serializer();

export const anyRequestWithId = fc
  .tuple(anyRequest, fc.integer({ min: 1, max: 2 ** 32 - 1 }))
  .map(([request, id]) => ({ ...request, id }));

/** A response to a request of some type: an ok response of that type, or an error response. */
export const anyResponse: fc.Arbitrary<{ type: RequestType; response: Response }> = fc
  .constantFrom(...REQUEST_TYPES)
  .chain((type) =>
    fc.record({
      type: fc.constant(type),
      id: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      body: fc.oneof(
        RESPONSE_ARBITRARIES[type] as fc.Arbitrary<object>,
        fc.record(
          {
            status: fc.constant('error' as const),
            error: fc.record({
              code: fc.constantFrom('PROTOCOL_ERROR', 'NO_LEADER', 'COMMAND_FAILURE'),
              message: fc.string(),
            }),
            leader: fc.string({ maxLength: 10 }),
            term: fc.maxSafeNat(),
            lastSequence: fc.maxSafeNat(),
          },
          { requiredKeys: ['status', 'error'] },
        ),
      ),
    }),
  )
  .map(({ type, id, body }) => ({ type, response: { type: MessageType.response, id, ...body } as Response }));

/** `value` with its keys in a shuffled order (the generic encoder keeps insertion order). */
export function shuffled(value: Record<string, unknown>, seed: number): Record<string, unknown> {
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = (seed * (i + 7)) % (i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries);
}

export interface DamagedFrame {
  frame: Uint8Array;
  /** The type of the request each response in the frame answers. */
  requestTypeOf: (id: number) => RequestType | undefined;
}

const anyMessage = fc.oneof(
  anyRequestWithId.map((request) => ({ message: request, type: request.type })),
  anyResponse.map(({ type, response }) => ({
    message: response as unknown as Record<string, unknown>,
    type,
  })),
);
// Each kind of damage in about one frame or message in four.
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary, weight: 1 });
const damagedMessage = fc.record({
  message: anyMessage,
  seed: fc.nat(),
  extra: sometimes(fc.dictionary(fc.string({ maxLength: 6 }), fc.anything(), { maxKeys: 2 })),
  replace: sometimes(fc.tuple(fc.nat(), fc.anything())),
});

/** A frame of one to four damaged messages, or `null` when fast-check made up something unencodable. */
export const damagedFrame: fc.Arbitrary<DamagedFrame | null> = fc
  .tuple(
    fc.array(damagedMessage, { minLength: 1, maxLength: 4 }),
    sometimes(fc.tuple(fc.nat(), fc.nat({ max: 255 }))),
    sometimes(fc.constant(true)),
  )
  .map(([parts, flip, cut]) => {
    const types = new Map<number, RequestType>();
    const values = parts.map(({ message, seed, extra, replace }) => {
      let value = { ...message.message, ...(extra ?? {}) };
      if (replace !== null) {
        const keys = Object.keys(value);
        value = { ...value, [keys[replace[0] % keys.length]!]: replace[1] };
      }
      if (value.type === MessageType.response && typeof value.id === 'number')
        types.set(value.id, message.type);
      return seed % 3 === 0 ? shuffled(value, seed) : value;
    });
    let frame: Uint8Array;
    try {
      frame = serializer.encode([1, ...values]);
    } catch {
      return null; // not encodable (a class instance made up by fast-check)
    }
    if (flip !== null && frame.length > 0) frame[flip[0] % frame.length] = flip[1];
    if (cut) frame = frame.subarray(0, frame.length - 1);
    return { frame, requestTypeOf: (id: number) => types.get(id) };
  });
