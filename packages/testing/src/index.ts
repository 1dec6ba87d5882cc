// @copycat/testing: deterministic simulation, fault schedules, history recording and the
// linearizability checker (TESTING.md items 2-4). The public surface only.

export { Prng } from './prng.js';

export {
  SimulatedScheduler,
  type SimulatedSchedulerOptions,
  type StepInfo,
  type RunOptions,
  type RunUntilOptions,
} from './scheduler/simulated-scheduler.js';
export { NodeScheduler, type NodeClockOptions } from './scheduler/node-scheduler.js';
export { SimulationError, type SimulationErrorReason } from './scheduler/errors.js';

export type {
  FaultTarget,
  LinkFaults,
  Link,
  MembershipChange,
  MembershipChangeKind,
} from './faults/target.js';
export {
  describeEvent,
  type FaultEvent,
  type FaultEventKind,
  type PartitionShape,
  type CutShape,
} from './faults/events.js';
export {
  DEFAULT_FAULT_KINDS,
  type FaultKind,
  type FaultScheduleOptions,
  type ResolvedFaultOptions,
} from './faults/generate.js';
export {
  FaultSchedule,
  type AppliedFault,
  type AppliedFaults,
  type ApplyOptions,
  type FaultScheduleJson,
} from './faults/schedule.js';

export type {
  ProcessId,
  OperationCall,
  Outcome,
  HistoryEvent,
  InvokeEvent,
  OkEvent,
  FailEvent,
  CompletionEvent,
  Operation,
  OperationInput,
} from './history/types.js';
export { History } from './history/history.js';
export {
  defaultClassifier,
  classifyDefinite,
  DEFINITE_FAILURE_CODES,
  type ErrorClassifier,
} from './history/classify.js';
export { synthesizeHistory, type SynthesizeOptions } from './history/synthetic.js';

export {
  checkLinearizable,
  type CheckOptions,
  type CheckResult,
  type CheckOk,
  type CheckIllegal,
  type CheckUnknown,
} from './checker/check.js';
export type { Counterexample, Candidate } from './checker/counterexample.js';
export type { CheckInput } from './checker/normalize.js';

export {
  UNKNOWN,
  canonical,
  partitionByKey,
  describeCall,
  type Unknown,
  type Model,
  type ModelOperation,
  type StepResult,
} from './models/model.js';
export { registerModel, type RegisterOptions } from './models/register.js';
export { kvModel, type KvOptions } from './models/kv.js';
export { setModel } from './models/set.js';
export { counterModel, type CounterOptions } from './models/counter.js';
export { lockModel, type LockState } from './models/lock.js';
export { queueModel } from './models/queue.js';

export { renderHistoryText, type TextOptions } from './visualize/text.js';
export { renderHistoryHtml, writeHistoryHtml } from './visualize/html.js';
export type { VisualizeOptions } from './visualize/layout.js';

export { testSeeds, type TestSeedsOptions } from './simulation/seeds.js';
export { assertLinearizable, LinearizabilityError } from './simulation/assert.js';
export {
  withSeed,
  SimulationFailure,
  type SimulationReport,
  type WithSeedOptions,
} from './simulation/report.js';
export { runSimulation, type Simulation, type SimulationOptions } from './simulation/run.js';
