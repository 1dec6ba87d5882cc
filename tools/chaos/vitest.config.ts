import { packageTestConfig } from '../../vitest.shared.js';

// Real processes and wall-clock time: one scenario of ~15 s, with room for a slow machine.
export default packageTestConfig({ testTimeout: 180_000, hookTimeout: 60_000 });
