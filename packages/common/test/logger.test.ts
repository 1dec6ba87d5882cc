import { describe, expect, it } from 'vitest';
import { consoleLogger, noopLogger } from '@copycat/common';

describe('logger', () => {
  it('consoleLogger filters by level and prefixes child names', () => {
    const lines: string[] = [];
    const logger = consoleLogger({ level: 'info', name: 'server', write: (line) => lines.push(line) });
    logger.debug('hidden');
    logger.info('started', { term: 1n });
    logger.child('127.0.0.1:5001').warn('slow fsync', { ms: 250 });
    expect(lines).toEqual([
      'INFO  [server] started {"term":"1"}',
      'WARN  [server/127.0.0.1:5001] slow fsync {"ms":250}',
    ]);
  });

  it('does not throw on unserializable fields', () => {
    const lines: string[] = [];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    consoleLogger({ write: (line) => lines.push(line) }).error('oops', cyclic);
    expect(lines[0]).toContain('[unserializable fields]');
  });

  it('noopLogger accepts everything and logs nothing', () => {
    expect(() => noopLogger.child('x').error('nothing', { a: 1 })).not.toThrow();
  });
});
