/** What the orchestrator (`scenario.ts`) and the client process (`workload.ts`) exchange. */

export interface WorkloadConfig {
  members: string[];
  /** How long the workers run, from the moment every client has its session (ms). */
  durationMs: number;
  clients: number;
  workersPerClient: number;
  /** `submit` timeout: past it the outcome is unknown (`info`). */
  operationTimeout: number;
  /** The client's per-request timeout before it tries again (ms). */
  requestTimeout: number;
  /**
   * Self-check of the test: record `sequential` reads as if they were linearizable `get`s, with
   * clients connected to random members. Followers answer them from a state that may lag, so the
   * checker must find stale reads: this shows the pipeline can fail.
   */
  unsafeReads?: boolean;
  /** Where the histories go (JSON lines). */
  kvHistory: string;
  counterHistory: string;
}

export interface WorkloadStats {
  clients: number;
  workers: number;
  /** Recorded operations (map and counter). */
  operations: number;
  ok: number;
  info: number;
  fail: number;
  /** Errors by code. */
  errors: Record<string, number>;
  sequentialReads: number;
  /** Sequential reads that went back in time for their client (must stay empty). */
  sequentialViolations: string[];
  /** Each client's session id at the start and at the end. */
  sessions?: number[];
  finalSessions?: number[];
  sessionChanges: string[];
}

export type WorkloadMessage = { type: 'ready'; deadline: number } | { type: 'done'; stats: WorkloadStats };
