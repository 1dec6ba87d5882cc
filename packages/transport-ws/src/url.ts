import { PROTOCOL_VERSION } from '@copycat/protocol';

/**
 * The URL a client dials for `address`: `host:port` becomes `ws://host:port/` (`wss` with TLS);
 * a full `ws://` or `wss://` URL is used as given. The protocol version always travels in the
 * query (`v`), so a server can refuse another version at the handshake.
 */
export function clientUrl(address: string, options: { secure: boolean; token?: string | undefined }): string {
  const url = new URL(
    /^wss?:\/\//i.test(address) ? address : `${options.secure ? 'wss' : 'ws'}://${address}/`,
  );
  url.searchParams.set('v', String(PROTOCOL_VERSION));
  if (options.token !== undefined) url.searchParams.set('token', options.token);
  return url.toString();
}
