import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { AccessReviewConfig } from '../../functions/core/config';
import { createInProcessApp, STACK_ID } from '../aws/app';
import { HANDLER_METADATA_KEY, HANDLERS, type HandlerName } from '../aws/handlers';

/**
 * The bridge between the AWS host and the embedded host: it synthesizes the very stack that
 * `cdk deploy` deploys and hands the local runner (aws-local-stepfunctions) that stack's state
 * machine definition, so there is one workflow, not a TypeScript copy of it.
 */

/** Placeholder coordinates for resolved ARNs. Handlers are bound by state name, never by ARN. */
export const LOCAL_PARTITION = 'aws';
export const LOCAL_REGION = 'local';
export const LOCAL_ACCOUNT = '000000000000';

/**
 * Timeouts above this are waits for people (the review window and the security team's approval
 * window: each at least 1 hour), not for machines (every Lambda step is at most 15 min + 30 s). A
 * local run cannot sit through the former, and aws-local-stepfunctions overflows Node's setTimeout
 * above ~24.8 days, so they are rewritten, both to the local review window (the embedded host waits
 * on every task token that long too).
 */
export const LOCAL_TIMEOUT_LIMIT_SECONDS = 30 * 60;

export const DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS = 20;

export function localFunctionArn(handler: HandlerName): string {
  return `arn:${LOCAL_PARTITION}:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${handler}`;
}

export interface LocalTableSchema {
  keySchema: KeySchemaElement[];
  attributeDefinitions: AttributeDefinition[];
  globalSecondaryIndexes: GlobalSecondaryIndex[];
  billingMode: 'PAY_PER_REQUEST';
}

export interface TimeoutRewrite {
  state: string;
  fromSeconds: number;
  toSeconds: number;
}

export interface LocalWorkflow {
  /** The synthesized ASL with every CloudFormation intrinsic resolved to local placeholders. */
  definition: StateMachineDefinition;
  /** Every Task state (nested ones included) → the handler its Lambda runs, e.g. `Snapshot: 'snapshot'`. */
  handlerByStateName: Record<string, HandlerName>;
  /**
   * Task states that use `lambda:invoke.waitForTaskToken`: the local handler must invoke the
   * handler and then resolve with what SendTaskSuccess would send.
   * Every other Task is `lambda:invoke`: its local handler receives `{ FunctionName, Payload }`
   * and must resolve with `{ Payload: <handler result> }` (the definition reads `$.Payload`).
   */
  waitForTaskTokenStates: string[];
  /** The evidence table's keys and indexes, for CreateTableCommand (with BillingMode PAY_PER_REQUEST). */
  table: LocalTableSchema;
  /**
   * What the local host changed in the definition, to be reported to the user. Only timeouts: the
   * reviewer Map is a Distributed Map on AWS, and aws-local-stepfunctions runs it unchanged (it
   * ignores ItemProcessor.ProcessorConfig and runs the children in-process, ItemsPath,
   * ItemSelector, MaxConcurrency and Catch as on AWS; checked by test/lib/definition.test.ts and
   * test/integration/steps/workflow-failure.test.ts). It has no RedriveExecution: see redrive.ts.
   */
  rewrittenTimeouts: TimeoutRewrite[];
  /**
   * Task states whose timeout is read from their input (TimeoutSecondsPath): AwaitReview, whose
   * wait is the next checkpoint of the reviewer's calendar. Nothing here can rewrite it; the host
   * shrinks the calendar instead (Services.reviewHourSeconds, see localReviewHourSeconds), and the
   * runner applies the path as AWS does.
   */
  pathTimeouts: Array<{ state: string; path: string }>;
}

/**
 * The length of one review hour on the embedded host: the configured window (`review.windowHours`)
 * fits into `reviewWindowSeconds`, and with it every reminder and the escalation, at the same
 * proportions as on AWS (`reviewHourSeconds` in Services).
 */
export function localReviewHourSeconds(config: AccessReviewConfig, reviewWindowSeconds: number): number {
  return reviewWindowSeconds / config.review.windowHours;
}

export interface LocalWorkflowOptions {
  /** How long a local reviewer has before States.Timeout (replaces the configured window). Default 60. */
  reviewWindowSeconds?: number;
}

interface SynthesizedParts {
  definition: StateMachineDefinition;
  handlerByStateName: Record<string, HandlerName>;
  waitForTaskTokenStates: string[];
  table: LocalTableSchema;
}

const synthCache = new Map<string, SynthesizedParts>();

export function synthesizeForLocalHost(
  config: AccessReviewConfig,
  options: LocalWorkflowOptions = {},
): LocalWorkflow {
  const reviewWindowSeconds = options.reviewWindowSeconds ?? DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS;
  if (!Number.isInteger(reviewWindowSeconds) || reviewWindowSeconds < 1) {
    throw new RangeError(
      `reviewWindowSeconds must be a positive whole number of seconds, not ${reviewWindowSeconds}`,
    );
  }
  const key = JSON.stringify(config);
  let parts = synthCache.get(key);
  if (!parts) {
    parts = synthesizeParts(config);
    synthCache.set(key, parts);
  }
  // Callers may mutate what they get; the cached synth must stay pristine.
  const definition = structuredClone(parts.definition);
  const rewrittenTimeouts = rewriteLongTimeouts(definition, reviewWindowSeconds);
  return {
    definition,
    handlerByStateName: { ...parts.handlerByStateName },
    waitForTaskTokenStates: [...parts.waitForTaskTokenStates],
    table: structuredClone(parts.table),
    rewrittenTimeouts,
    pathTimeouts: pathTimeoutsOf(definition),
  };
}

function synthesizeParts(config: AccessReviewConfig): SynthesizedParts {
  const outdir = mkdtempSync(join(tmpdir(), 'access-review-synth-'));
  try {
    const { app } = createInProcessApp({ config, outdir });
    const template = asRecord(app.synth().getStackByName(STACK_ID).template, 'template');
    const resources = asRecord(template.Resources, 'template Resources');
    const handlerByLogicalId = handlersByLogicalId(resources);
    const definition = parseDefinition(resources, handlerByLogicalId);
    const { handlerByStateName, waitForTaskTokenStates } = bindTaskStates(definition);
    return { definition, handlerByStateName, waitForTaskTokenStates, table: tableSchema(resources) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Lambda logical id → handler name, from the `access-review:handler` metadata on each function. */
function handlersByLogicalId(resources: Record<string, unknown>): Map<string, HandlerName> {
  const known = new Set<string>(HANDLERS.map((spec) => spec.name));
  const byLogicalId = new Map<string, HandlerName>();
  for (const [logicalId, value] of Object.entries(resources)) {
    const resource = asRecord(value, logicalId);
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const metadata =
      resource.Metadata === undefined ? {} : asRecord(resource.Metadata, `${logicalId} Metadata`);
    const handler = metadata[HANDLER_METADATA_KEY];
    if (typeof handler !== 'string' || !known.has(handler)) {
      throw new Error(
        `Lambda ${logicalId} has no known ${HANDLER_METADATA_KEY} metadata (found ${String(handler)})`,
      );
    }
    byLogicalId.set(logicalId, handler as HandlerName);
  }
  return byLogicalId;
}

function parseDefinition(
  resources: Record<string, unknown>,
  handlerByLogicalId: Map<string, HandlerName>,
): StateMachineDefinition {
  const machines = Object.entries(resources).filter(
    ([, value]) => asRecord(value, 'resource').Type === 'AWS::StepFunctions::StateMachine',
  );
  if (machines.length !== 1)
    throw new Error(`expected one state machine in the stack, found ${machines.length}`);
  const [logicalId, machine] = machines[0]!;
  const properties = asRecord(asRecord(machine, logicalId).Properties, `${logicalId} Properties`);
  const text = resolveIntrinsic(
    properties.DefinitionString,
    handlerByLogicalId,
    `${logicalId}.DefinitionString`,
  );
  if (typeof text !== 'string') throw new Error(`${logicalId}.DefinitionString did not resolve to a string`);
  const parsed = asRecord(JSON.parse(text), 'state machine definition');
  if (typeof parsed.StartAt !== 'string' || typeof parsed.States !== 'object' || parsed.States === null) {
    throw new Error('state machine definition has no StartAt/States');
  }
  if (parsed.QueryLanguage === 'JSONata') {
    throw new Error('the definition uses JSONata, which aws-local-stepfunctions does not run');
  }
  // Shape checked above; the runner validates the rest of the ASL itself when it loads it.
  return parsed as unknown as StateMachineDefinition;
}

/** Resolves the intrinsics CDK puts in a DefinitionString; anything else is an error, not a guess. */
function resolveIntrinsic(value: unknown, handlers: Map<string, HandlerName>, where: string): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value))
    return value.map((item, index) => resolveIntrinsic(item, handlers, `${where}[${index}]`));
  const record = asRecord(value, where);
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const args = record['Fn::Join'];
    if (!Array.isArray(args) || args.length !== 2 || typeof args[0] !== 'string' || !Array.isArray(args[1])) {
      throw new Error(`${where}: malformed Fn::Join`);
    }
    const separator = args[0];
    return args[1]
      .map((part: unknown, index: number) => {
        const resolved = resolveIntrinsic(part, handlers, `${where}.Fn::Join[${index}]`);
        if (typeof resolved !== 'string') throw new Error(`${where}: Fn::Join part ${index} is not a string`);
        return resolved;
      })
      .join(separator);
  }
  if (keys.length === 1 && keys[0] === 'Ref') {
    const ref = record.Ref;
    if (ref === 'AWS::Partition') return LOCAL_PARTITION;
    if (ref === 'AWS::Region') return LOCAL_REGION;
    if (ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (typeof ref === 'string' && handlers.has(ref)) return handlers.get(ref);
    throw new Error(`${where}: cannot resolve Ref ${String(ref)} locally`);
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const args = record['Fn::GetAtt'];
    const [logicalId, attribute] = Array.isArray(args) ? args : [];
    const handler = typeof logicalId === 'string' ? handlers.get(logicalId) : undefined;
    if (handler && attribute === 'Arn') return localFunctionArn(handler);
    throw new Error(`${where}: cannot resolve Fn::GetAtt ${JSON.stringify(args)} locally`);
  }
  throw new Error(`${where}: unsupported intrinsic ${keys.join(', ')}`);
}

type AslStates = Record<string, Record<string, unknown>>;

/** Calls `visit` on every state, descending into Map processors and Parallel branches. */
function forEachState(
  container: { States?: unknown },
  visit: (name: string, state: Record<string, unknown>) => void,
): void {
  const states = asRecord(container.States, 'States') as AslStates;
  for (const [name, state] of Object.entries(states)) {
    visit(name, state);
    for (const nested of [state.ItemProcessor, state.Iterator]) {
      if (nested !== undefined) forEachState(asRecord(nested, `${name} processor`), visit);
    }
    if (Array.isArray(state.Branches)) {
      for (const branch of state.Branches) forEachState(asRecord(branch, `${name} branch`), visit);
    }
  }
}

const LAMBDA_INVOKE = /^arn:[^:]+:states:::lambda:invoke(\.waitForTaskToken)?$/;
const LOCAL_FUNCTION_ARN = new RegExp(
  `^arn:${LOCAL_PARTITION}:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:([a-z-]+)(?::[^:]+)?$`,
);

function bindTaskStates(definition: StateMachineDefinition): {
  handlerByStateName: Record<string, HandlerName>;
  waitForTaskTokenStates: string[];
} {
  const handlerByStateName: Record<string, HandlerName> = {};
  const waitForTaskTokenStates: string[] = [];
  const seen = new Set<string>();
  forEachState(definition, (name, state) => {
    // The local runner keys its handler overrides by state name, nested states included.
    if (seen.has(name)) throw new Error(`state name ${name} is used twice; local handlers are bound by name`);
    seen.add(name);
    if (state.Type !== 'Task') return;
    const resource = String(state.Resource);
    const integration = LAMBDA_INVOKE.exec(resource);
    const parameters = state.Parameters === undefined ? {} : asRecord(state.Parameters, `${name} Parameters`);
    const functionArn = integration ? parameters.FunctionName : resource;
    const match = typeof functionArn === 'string' ? LOCAL_FUNCTION_ARN.exec(functionArn) : null;
    const handler = match?.[1];
    if (!handler || !HANDLERS.some((spec) => spec.name === handler)) {
      throw new Error(`Task ${name} (${resource}) does not invoke a catalogued handler`);
    }
    handlerByStateName[name] = handler as HandlerName;
    if (integration?.[1]) waitForTaskTokenStates.push(name);
  });
  return { handlerByStateName, waitForTaskTokenStates };
}

function rewriteLongTimeouts(definition: StateMachineDefinition, toSeconds: number): TimeoutRewrite[] {
  const rewrites: TimeoutRewrite[] = [];
  const consider = (state: string, holder: { TimeoutSeconds?: unknown }) => {
    const fromSeconds = holder.TimeoutSeconds;
    if (typeof fromSeconds === 'number' && fromSeconds > LOCAL_TIMEOUT_LIMIT_SECONDS) {
      holder.TimeoutSeconds = toSeconds;
      rewrites.push({ state, fromSeconds, toSeconds });
    }
  };
  consider('(state machine)', definition);
  forEachState(definition, consider);
  return rewrites;
}

function pathTimeoutsOf(definition: StateMachineDefinition): Array<{ state: string; path: string }> {
  const found: Array<{ state: string; path: string }> = [];
  forEachState(definition, (state, holder) => {
    if (typeof holder.TimeoutSecondsPath === 'string') found.push({ state, path: holder.TimeoutSecondsPath });
  });
  return found;
}

function tableSchema(resources: Record<string, unknown>): LocalTableSchema {
  const tables = Object.values(resources)
    .map((value) => asRecord(value, 'resource'))
    .filter((resource) => resource.Type === 'AWS::DynamoDB::Table');
  if (tables.length !== 1)
    throw new Error(`expected one DynamoDB table in the stack, found ${tables.length}`);
  const properties = asRecord(tables[0]!.Properties, 'table Properties');
  // CloudFormation's property names and shapes are the DynamoDB API's for these three fields.
  const keySchema = properties.KeySchema as KeySchemaElement[];
  const attributeDefinitions = properties.AttributeDefinitions as AttributeDefinition[];
  const indexes = (properties.GlobalSecondaryIndexes ?? []) as Array<Record<string, unknown>>;
  return {
    keySchema: structuredClone(keySchema),
    attributeDefinitions: structuredClone(attributeDefinitions),
    globalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.IndexName as string,
      KeySchema: structuredClone(index.KeySchema) as KeySchemaElement[],
      Projection: structuredClone(index.Projection) as GlobalSecondaryIndex['Projection'],
    })),
    billingMode: 'PAY_PER_REQUEST',
  };
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${what} is not an object`);
  return value as Record<string, unknown>;
}
