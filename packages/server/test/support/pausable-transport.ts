// Wraps a node's transport so that while the node is paused (like SIGSTOP) the requests it
// receives wait, and are handled in order once it resumes.
import type { Connection, RequestHandler, RequestType, Transport, TransportServer } from '@copycat/protocol';

export class PausableTransport implements Transport {
  private held: (() => void)[] | undefined;

  constructor(private readonly inner: Transport) {}

  pause(): void {
    this.held ??= [];
  }

  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const run of held) run();
  }

  client() {
    return this.inner.client();
  }

  server(): TransportServer {
    const server = this.inner.server();
    return {
      listen: (address, onConnection) =>
        server.listen(address, (connection) => onConnection(this.wrap(connection))),
      close: () => server.close(),
    };
  }

  private wrap(connection: Connection): Connection {
    const handler = connection.handler.bind(connection);
    const wrapped = Object.create(connection) as Connection;
    wrapped.handler = <K extends RequestType>(type: K, fn: RequestHandler<K>): void => {
      handler(type, (request) => {
        const held = this.held;
        if (held === undefined) return fn(request);
        return new Promise((resolve, reject) => {
          held.push(() => void Promise.resolve(fn(request)).then(resolve, reject));
        });
      });
    };
    return wrapped;
  }
}
