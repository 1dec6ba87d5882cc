import { describe, expect, it } from 'vitest';
import { ProtocolError } from '@copycat/common';
import { Serializer } from '@copycat/io';
import { decodeOperation, encodeOperation } from '@copycat/protocol';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('operations', () => {
  const serializer = new Serializer().register(16, Point, {
    encode: (p) => [p.x, p.y],
    decode: (data) => new Point(...(data as [number, number])),
  });

  it('are encoded once into bytes and decoded by the state machine with the user serializer', () => {
    const bytes = encodeOperation(serializer, {
      name: 'move',
      args: { to: new Point(1, 2), at: new Map([['k', 1n]]) },
    });
    expect(bytes).toBeInstanceOf(Uint8Array);
    const operation = decodeOperation<{ to: Point; at: Map<string, bigint> }>(serializer, bytes);
    expect(operation.name).toBe('move');
    expect(operation.args.to).toEqual(new Point(1, 2));
    expect(operation.args.at.get('k')).toBe(1n);
  });

  it('undefined args survive', () => {
    expect(
      decodeOperation(serializer, encodeOperation(serializer, { name: 'get', args: undefined })),
    ).toEqual({
      name: 'get',
      args: undefined,
    });
  });

  it('malformed bytes are a ProtocolError', () => {
    expect(() => decodeOperation(serializer, new Uint8Array([0xc1]))).toThrow(ProtocolError);
    expect(() => decodeOperation(serializer, serializer.encode({ name: 'x' }))).toThrow(
      /expected \[name, args\]/,
    );
    expect(() => decodeOperation(serializer, serializer.encode([1, 2]))).toThrow(ProtocolError);
  });
});
