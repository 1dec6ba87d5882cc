#!/usr/bin/env node
// The `copycat` command. Runs the TypeScript sources through tsx, resolving workspace packages
// to their sources (the `@copycat/source` export condition), so no build step is needed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');
const child = spawn(
  process.execPath,
  [
    '--conditions=@copycat/source',
    '--import',
    tsx,
    path.join(here, '..', 'src', 'main.ts'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
// Ctrl-C reaches the child through the process group; just mirror its exit.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
