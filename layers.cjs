/**
 * The layer table of the design brief (../shared/design/README.md), shared by
 * .dependency-cruiser.cjs (imports) and scripts/check-manifests.mjs (package.json files).
 * A package may depend only on packages of a lower layer.
 */
const LAYERS = {
  common: 0,
  io: 1,
  storage: 2,
  protocol: 2,
  'transport-local': 3,
  'transport-ws': 3,
  testing: 3.5, // test toolkit: may use layers 0-3; every package may use it in tests
  server: 4,
  client: 4,
  resource: 5,
  collections: 6,
  atomic: 6,
  coordination: 6,
  all: 7,
};
// The server and client receive a transport as an argument: they must not import one.
const FORBIDDEN = {
  server: ['transport-local', 'transport-ws'],
  client: ['transport-local', 'transport-ws'],
};

module.exports = { LAYERS, FORBIDDEN };
