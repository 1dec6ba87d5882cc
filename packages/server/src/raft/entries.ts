/** Kinds of log entries. The numbers are stored on disk: never reuse or renumber. */
export const ENTRY_KINDS = {
  initialize: 1,
  configuration: 2,
  command: 3,
  noop: 4,
  register: 5,
  keepAlive: 6,
  unregister: 7,
} as const;

export type EntryKind = keyof typeof ENTRY_KINDS;
