import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';

type RunnerEvents = ReturnType<StateMachine['run']>['eventLogs'];

/** The top-level state an execution was in when it failed, and the input it entered with. */
export interface UnfinishedState {
  name: string;
  input: unknown;
}

/**
 * aws-local-stepfunctions has no RedriveExecution. AWS's redrive re-runs, with the same input, the
 * states that were entered and never exited, and raises `$$.Execution.RedriveCount`; the steps
 * before them are not run again. This reads a local execution's event log (consume it while the
 * execution runs) and returns that state: the last top-level state entered without an exit.
 * Map iterations are not tracked one by one: the review workflow's Map always exits (its Catch
 * takes every failure to the failure path), so what a redrive re-runs is always top-level.
 */
export async function watchUnfinishedState(events: RunnerEvents): Promise<UnfinishedState | undefined> {
  let unfinished: UnfinishedState | undefined;
  try {
    for await (const event of events) {
      if (!('state' in event) || event.index !== undefined) continue;
      if (event.type === 'StateEntered') unfinished = { name: event.state.name, input: event.state.input };
      if (event.type === 'StateExited' && unfinished?.name === event.state.name) unfinished = undefined;
    }
  } catch {
    // The log ends with the execution; its result says how it ended.
  }
  return unfinished;
}

/**
 * The definition a local "redrive" runs: the same states, starting at the unfinished one. Run it
 * with `unfinished.input` and a context whose `Execution` keeps the original Name and has
 * `RedriveCount` one higher, as AWS does.
 */
export function definitionForRedrive(
  definition: StateMachineDefinition,
  unfinished: UnfinishedState,
): StateMachineDefinition {
  if (!(unfinished.name in definition.States)) {
    throw new RangeError(`${unfinished.name} is not a top-level state; a local redrive cannot start there`);
  }
  return { ...structuredClone(definition), StartAt: unfinished.name };
}
