#!/usr/bin/env node
// Prints `tests: N passed, M failed` from a vitest JSON report. A test file that failed to load
// (no tests ran) counts as one failure. Exit 1 if anything failed, was skipped, or no test ran.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.ci/out/vitest.json';
if (!existsSync(file)) {
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const passed = report.numPassedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
// Files that errored before their tests ran have status 'failed' and no assertion results.
const brokenFiles = (report.testResults ?? []).filter(
  (r) => r.status === 'failed' && (r.assertionResults ?? []).every((a) => a.status !== 'failed'),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles;
console.log(`tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || skipped > 0 || passed === 0 || report.success === false ? 1 : 0);
