/**
 * `copycat map put|get|remove NAME KEY [VALUE] --members a,b,c [--consistency level]`: one
 * operation on the replicas' map `NAME`, through a client session. `get` prints the value, or
 * `(absent)`; `put` and `remove` print `ok` and the previous value. The map `default` is the one
 * `copycat cluster` writes.
 */
import { command, query, type ConsistencyLevel } from '@copycat/client';
import { UsageError, type Args } from '../args.js';
import { connectClient } from '../client.js';

const CONSISTENCY = ['linearizable', 'lease', 'sequential'];

export async function mapCommand(args: Args): Promise<void> {
  const [, action, map, key, value, ...extra] = args.positional;
  if (action !== 'put' && action !== 'get' && action !== 'remove')
    throw new UsageError(
      `map needs put, get or remove, got ${action === undefined ? 'nothing' : `'${action}'`}`,
    );
  if (map === undefined || key === undefined) throw new UsageError(`map ${action} needs NAME and KEY`);
  if (action === 'put' && value === undefined) throw new UsageError('map put needs NAME, KEY and VALUE');
  if ((action !== 'put' && value !== undefined) || extra.length > 0)
    throw new UsageError(`too many arguments for map ${action}`);
  const members = args.list('members');
  if (members.length === 0) throw new UsageError('--members needs at least one address');
  const consistency = args.string('consistency', 'linearizable');
  if (!CONSISTENCY.includes(consistency))
    throw new UsageError(`--consistency must be one of ${CONSISTENCY.join(', ')}, got ${consistency}`);
  const timeout = args.integer('timeout', 10_000, 1, 120_000);

  const client = await connectClient(members, { connectTimeout: timeout });
  try {
    const options = { timeout };
    const result =
      action === 'put'
        ? await client.submit(command<unknown>('put', { map, key, value }), options)
        : action === 'remove'
          ? await client.submit(command<unknown>('remove', { map, key }), options)
          : await client.submit(
              query<unknown>('get', { map, key }, { consistency: consistency as ConsistencyLevel }),
              options,
            );
    const absent = result === null || result === undefined;
    if (action === 'get') console.log(absent ? '(absent)' : show(result));
    else console.log(absent ? 'ok (no previous value)' : `ok (previous value: ${show(result)})`);
  } finally {
    await client.close();
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
