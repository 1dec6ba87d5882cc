#!/usr/bin/env node
// Checks the layer rule on package.json files: a package's runtime dependencies on @copycat/*
// point only to lower layers. (Imports are checked by dependency-cruiser.) Exit 1 on violation.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const { LAYERS, FORBIDDEN } = createRequire(import.meta.url)('../layers.cjs');
const root = process.argv[2] ?? '.';
const problems = [];
for (const folder of readdirSync(join(root, 'packages'))) {
  const manifest = join(root, 'packages', folder, 'package.json');
  if (!existsSync(manifest)) continue;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  const self = pkg.name.replace(/^@copycat\//, '');
  if (!(self in LAYERS)) {
    problems.push(`packages/${folder}: ${pkg.name} is not in the layer table (layers.cjs)`);
    continue;
  }
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    if (!dep.startsWith('@copycat/')) continue;
    const other = dep.replace(/^@copycat\//, '');
    if (!(other in LAYERS)) problems.push(`${pkg.name} depends on unknown package ${dep}`);
    else if ((FORBIDDEN[self] ?? []).includes(other))
      problems.push(`${pkg.name} depends on ${dep}: transports are passed in, not imported`);
    else if (LAYERS[other] >= LAYERS[self])
      problems.push(`${pkg.name} (layer ${LAYERS[self]}) depends on ${dep} (layer ${LAYERS[other]})`);
  }
}
for (const problem of problems) console.error(`layering: ${problem}`);
process.exit(problems.length === 0 ? 0 : 1);
