/**
 * A small logger interface so users can plug in whatever they use (pino, winston, console).
 * Copycat never forces a logging library; the default logs nothing.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose messages carry `name` (e.g. the server address). */
  child(name: string): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const noop = () => {};

export const noopLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
};

export interface ConsoleLoggerOptions {
  level?: LogLevel;
  name?: string;
  /** Where lines go; defaults to `console.error` so stdout stays free for program output. */
  write?: (line: string) => void;
}

/** A plain-text logger writing one line per message at or above `level`. */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => console.error(line));
  const make = (name: string | undefined): Logger => {
    const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
      if (LEVELS[level] < threshold) return;
      const prefix = name === undefined ? '' : `[${name}] `;
      const suffix = fields === undefined ? '' : ` ${safeStringify(fields)}`;
      write(`${level.toUpperCase().padEnd(5)} ${prefix}${message}${suffix}`);
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (child) => make(name === undefined ? child : `${name}/${child}`),
    };
  };
  return make(options.name);
}

function safeStringify(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value instanceof Error) return { name: value.name, message: value.message };
      return value;
    });
  } catch {
    return '[unserializable fields]';
  }
}
