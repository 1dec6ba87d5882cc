/**
 * The `copycat` command line. Exit code 0 on success; on failure a one-line error and a
 * non-zero code.
 */
import { Args, UsageError } from './args.js';
import { clusterCommand } from './commands/cluster.js';
import { mapCommand } from './commands/map.js';
import { serverCommand } from './commands/server.js';
import { statusCommand } from './commands/status.js';

const USAGE = `usage:
  copycat cluster [--size 3] [--dir .copycat] [--port 5001] [--demo]
  copycat server --address host:port --members a,b,c --dir DIR [--join] [--verbose]
  copycat status --members a,b,c [--timeout 5000]
  copycat map put|get|remove NAME KEY [VALUE] --members a,b,c [--consistency linearizable|lease|sequential] [--timeout 10000]`;

async function main(argv: readonly string[]): Promise<void> {
  const args = new Args(argv);
  const [command] = args.positional;
  switch (command) {
    case 'cluster':
      return clusterCommand(args);
    case 'server':
      return serverCommand(args);
    case 'status':
      return statusCommand(args);
    case 'map':
      return mapCommand(args);
    case undefined:
    case 'help':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message =
    error instanceof Error
      ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
      : String(error);
  console.error(`copycat: ${message}`);
  if (error instanceof UsageError) console.error(USAGE);
  process.exit(error instanceof UsageError ? 2 : 1);
});
