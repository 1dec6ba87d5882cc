import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1: bind port 0, read the port the OS chose, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** `127.0.0.1:<free port>`. */
export async function freeAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
