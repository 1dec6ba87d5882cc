import { describe } from 'vitest';
import { SystemScheduler } from '@copycat/common';
import { LocalNetwork, type RawConnection } from '@copycat/transport-local';
import { runConformanceSuite } from '../../protocol/test/conformance/suite.js';
import {
  type ConformanceHarness,
  type HarnessOptions,
  type RawPeer,
} from '../../protocol/test/conformance/harness.js';

function rawPeer(connection: RawConnection): RawPeer {
  const frames: Uint8Array[] = [];
  connection.onFrame((frame) => frames.push(frame));
  return {
    frames,
    send: (frame) => connection.send(frame),
    get closed() {
      return connection.closed;
    },
    close: async () => connection.close(),
  };
}

async function setup(options: HarnessOptions): Promise<ConformanceHarness> {
  const network = new LocalNetwork({ scheduler: new SystemScheduler(), ...options });
  let next = 0;
  return {
    node: async () => {
      const address = `local:n${++next}`;
      return { address, transport: network.transport(address) };
    },
    raw: async (from, address) => rawPeer(await network.openRaw(from.address, address)),
    close: async () => {},
  };
}

describe('LocalNetwork conformance', () => {
  runConformanceSuite({ setup });
});
