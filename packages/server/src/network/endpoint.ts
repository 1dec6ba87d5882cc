import { isCopycatError, type Logger } from '@copycat/common';
import { MessageType, type Connection, type RequestHandler, type RequestType } from '@copycat/protocol';
import type { RaftRequest, RaftResponseFor } from '../raft/messages.js';
import type { EntryCodec } from './entry-codec.js';
import { fromWireRequest, toWireResponse } from './wire.js';

/** The Raft and membership requests a server answers from its peers. */
export const RAFT_REQUEST_TYPES = [
  MessageType.append,
  MessageType.poll,
  MessageType.vote,
  MessageType.configure,
  MessageType.timeoutNow,
  MessageType.join,
  MessageType.leave,
  MessageType.reconfigure,
] as const;

export interface EndpointOptions {
  codec: EntryCodec;
  logger: Logger;
  handle: <R extends RaftRequest>(request: R) => Promise<RaftResponseFor<R>>;
}

/**
 * Registers the server's request handlers on an accepted connection. Bad input (a corrupt entry
 * record, a request the core refuses) becomes an error response with a typed code; the
 * connection and the server stay up.
 */
export function serveRaft(connection: Connection, options: EndpointOptions): void {
  for (const type of RAFT_REQUEST_TYPES) register(connection, type, options);
}

function register<K extends RequestType>(connection: Connection, type: K, options: EndpointOptions): void {
  const handler: RequestHandler<K> = async (request) => {
    const core = fromWireRequest(request, options.codec);
    if (core === undefined) throw new Error(`no core request for message type ${type}`);
    try {
      return toWireResponse(type, await options.handle(core));
    } catch (error) {
      if (!isCopycatError(error)) options.logger.error('request handler failed', { type, error });
      throw error;
    }
  };
  connection.handler(type, handler);
}
