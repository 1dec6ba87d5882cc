export { LocalNetwork } from './network.js';
export type { LocalNetworkOptions } from './network.js';
export type { LocalTransport, LocalClient, LocalServer } from './transport.js';
export type { LocalConnection } from './connection.js';
export type { RawConnection } from './raw.js';
export type { LinkFaults, LinkSelector } from './faults.js';
