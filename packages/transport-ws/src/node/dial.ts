import { WebSocket } from 'ws';
import { type Dialer } from '../socket.js';
import { nodeSocket } from './socket.js';

/** Dials with `ws`: the auth token goes in the `Authorization` header, TLS trust from the options. */
export const dialNode: Dialer = (url, settings) => {
  const tls = settings.tls;
  const ws = new WebSocket(url, {
    maxPayload: settings.maxFrameSize,
    perMessageDeflate: false,
    headers: settings.authToken === undefined ? {} : { authorization: `Bearer ${settings.authToken}` },
    ...(tls?.ca === undefined ? {} : { ca: tls.ca as string | Buffer | (string | Buffer)[] }),
    ...(tls?.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  });
  return nodeSocket(ws);
};
