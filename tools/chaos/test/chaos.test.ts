// Real-process chaos (TESTING.md item 5), short bounded mode: 3 replica processes, one client
// process, the leader killed with SIGKILL mid-run and restarted; the histories must be
// linearizable and the cluster must keep serving. `pnpm chaos` runs longer and repeats.
import { afterAll, describe, expect, it } from 'vitest';
import { killEverything, runScenario } from '../src/scenario.js';

afterAll(killEverything);

describe('chaos: kill -9 of the leader under load', () => {
  it('keeps the map and the counter linearizable, and serves again after the kill', async () => {
    const lines: string[] = [];
    const result = await runScenario({ durationMs: 12_000, kills: 1, log: (line) => lines.push(line) });
    const report = [...lines, ...result.problems, `files: ${result.kept ? result.dir : '(removed)'}`].join(
      '\n',
    );
    expect(result.problems, report).toEqual([]);
    expect(result.kv?.result, report).toBe('ok');
    expect(result.counter?.result, report).toBe('ok');
    expect(result.kills).toHaveLength(1);
    expect(result.kills[0]!.newLeader, report).toBeDefined();
    expect(result.kills[0]!.okAfter, report).toBeGreaterThan(0);
    expect(result.stats!.ok, report).toBeGreaterThan(100);
    expect(result.stats!.sequentialViolations, report).toEqual([]);
    expect(result.passed).toBe(true);
  });
});
