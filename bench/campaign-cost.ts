/**
 * What one campaign costs on AWS, from counted operations: the workflow's steps run in-process
 * against dynalite and the Slack sandbox, each DynamoDB call asks for its ConsumedCapacity, each
 * step's time is measured, and the synthesized state machine is replayed with aws-local-stepfunctions
 * (each Lambda state answering what the step answered) to count the state transitions it enters.
 * Measured at 10,000 and 20,000 grants; extrapolated to 100,000 along the line through the two only
 * when their per-grant figures agree.
 */
import '../lib/local/node20';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WebClient } from '@slack/web-api';
import { StateMachine } from 'aws-local-stepfunctions';
import type { Connector, SnapshotCheckpoint } from '../functions/connectors/connector';
import { connectorRegistry } from '../functions/connectors/connector';
import { type AccessReviewConfig, parseConfig } from '../functions/core/config';
import { type Grant, makeGrant } from '../functions/core/grant';
import type { Services } from '../functions/runtime/services';
import { applyRevocations } from '../functions/steps/apply-revocations';
import { assignReviewers } from '../functions/steps/assign-reviewers';
import { checkRevocations } from '../functions/steps/check-revocations';
import { finalizeCampaign } from '../functions/steps/finalize';
import { recordDecision } from '../functions/steps/record-decision';
import { requestReview } from '../functions/steps/request-review';
import { takeSnapshot } from '../functions/steps/snapshot';
import { startCampaign } from '../functions/steps/start-campaign';
import { verifyRevocations } from '../functions/steps/verify-revocations';
import { createStore } from '../functions/store/index';
import type { TableRef } from '../functions/store/table';
import { type HandlerName, handlerSpec } from '../lib/aws/handlers';
import { startLocalDynamo } from '../lib/local/dynamo';
import { synthesizeForLocalHost } from '../lib/local/synthesized-workflow';
import { startSlackSandbox } from '../sandbox/slack/server';

/** Public on-demand prices, us-east-1, as listed on the AWS pricing pages on 2026-12-02. */
export const PRICES = {
  region: 'us-east-1',
  date: '2026-12-02',
  /** Step Functions Standard: $0.025 per 1,000 state transitions. */
  perStateTransition: 0.025 / 1_000,
  /** Lambda (x86): $0.0000166667 per GB-second. */
  perLambdaGbSecond: 0.0000166667,
  /** Lambda: $0.20 per million requests. */
  perLambdaRequest: 0.2 / 1_000_000,
  /** DynamoDB on-demand: $1.25 per million write request units. */
  perWriteRequestUnit: 1.25 / 1_000_000,
  /** DynamoDB on-demand: $0.25 per million read request units. */
  perReadRequestUnit: 0.25 / 1_000_000,
} as const;

/** Grants each reviewer is asked about; the number of reviewers grows with the campaign. */
const GRANTS_PER_REVIEWER = 500;
const GRANTS_PER_REPOSITORY = 10;
/** One grant in fifty is decided "revoke" (and is then applied and verified). */
const REVOKE_EVERY = 50;
/** A checkpoint of the synthetic connector every this many grants (a page of repositories). */
const CHECKPOINT_EVERY = 100;
/**
 * Waits the in-process run does not have, stated rather than measured: each GitHub request of the
 * snapshot (issue 8's target for a 10k-repository org with base permission read: 1,500 requests)
 * and each click's redraw through Slack's response_url, at 150 ms each.
 */
const GITHUB_REQUESTS_PER_SNAPSHOT = 1_500;
const REMOTE_CALL_SECONDS = 0.15;

interface Usage {
  invocations: number;
  seconds: number;
  readUnits: number;
  writeUnits: number;
  calls: number;
}

interface Measurement {
  grants: number;
  reviewers: number;
  byHandler: Map<HandlerName, Usage>;
  transitions: number;
}

/** A DocumentClient whose every call asks for, and adds up, the capacity it consumed. */
function countingTable(
  tableName: string,
  endpoint: string,
  charge: (read: number, write: number) => void,
): TableRef {
  const base = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  base.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: unknown };
      const consumed = ([] as Array<{ CapacityUnits?: number }>).concat(
        (output.ConsumedCapacity as Array<{ CapacityUnits?: number }>) ?? [],
      );
      const units = consumed.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      const isRead = 'KeyConditionExpression' in input || ('Key' in input && !('UpdateExpression' in input));
      // dynalite charges the table only; DynamoDB also writes each index an item is projected
      // into: a put or update costs its units again for every index key it sets (grants,
      // decisions, revocations and verifications carry up to three: reviewer, principal history,
      // resource history).
      if (isRead) charge(units, 0);
      else charge(0, units * (1 + indexKeysSet(input)));
      return result;
    },
    { step: 'initialize', name: 'countConsumedCapacity' },
  );
  const client = DynamoDBDocumentClient.from(base, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return { client, tableName };
}

/** How many index partition keys (`gsi<N>pk`) a put's item holds or an update sets. */
function indexKeysSet(input: Record<string, unknown>): number {
  const names = new Set<string>();
  if (typeof input.UpdateExpression === 'string') {
    for (const match of input.UpdateExpression.matchAll(/gsi\dpk/g)) names.add(match[0]);
  }
  if (typeof input.Item === 'object' && input.Item !== null) {
    for (const key of Object.keys(input.Item)) if (/^gsi\dpk$/.test(key)) names.add(key);
  }
  return names.size;
}

function syntheticGrants(count: number): Grant[] {
  return Array.from({ length: count }, (_, i) =>
    makeGrant(
      {
        connector: 'github',
        grantKind: 'user_repository',
        resourceType: 'repository',
        resource: `acme/repo-${Math.floor(i / GRANTS_PER_REPOSITORY)}`,
        principalType: 'user',
        principal: `user-${i % 3_000}`,
        entitlement: i % 3 === 0 ? 'write' : 'read',
        via: { kind: 'direct' },
      },
      { raw: { permissionSources: [{ source: 'repository', permission: 'READ' }] } },
    ),
  );
}

/** A GitHub stand-in: the grants, with a checkpoint every page; revokes and checks answer at once. */
function syntheticConnector(grants: Grant[]): Connector {
  return {
    name: 'github',
    async *snapshot() {
      yield* grants;
    },
    async *resumableSnapshot(resumeFrom?: string): AsyncIterable<Grant | SnapshotCheckpoint> {
      const start = resumeFrom ? Number(resumeFrom) : 0;
      for (let i = start; i < grants.length; i++) {
        yield grants[i]!;
        if ((i + 1) % CHECKPOINT_EVERY === 0) yield { kind: 'checkpoint', cursor: String(i + 1) };
      }
    },
    revoke: async (grant) => ({
      outcome: 'removed',
      appliedAt: new Date().toISOString(),
      action: `DELETE collaborator ${grant.principal} from ${grant.resource}`,
    }),
    check: async () => ({ status: 'absent', checkedAt: new Date().toISOString() }),
    usage: () => ({ requests: {}, points: {} }),
  };
}

async function measure(grantCount: number): Promise<Measurement> {
  const reviewers = Math.max(1, Math.round(grantCount / GRANTS_PER_REVIEWER));
  const people = Array.from({ length: reviewers }, (_, r) => ({
    github: `reviewer-${r}`,
    email: `reviewer-${r}@acme.example`,
  }));
  const repositories = Math.ceil(grantCount / GRANTS_PER_REPOSITORY);
  const config: AccessReviewConfig = parseConfig({
    github: { organization: 'acme' },
    routing: {
      owners: Array.from({ length: repositories }, (_, i) => ({
        resource: `acme/repo-${i}`,
        resourceType: 'repository',
        reviewer: `reviewer-${i % reviewers}`,
      })),
      fallbackReviewers: ['reviewer-0'],
    },
    people,
    // A campaign of this size is not held by the revocation guard's default limits in this bench.
    revocationGuard: { maxRevokedPercent: 100, maxPerPrincipal: 1_000_000 },
  });
  const synthesized = synthesizeForLocalHost(config);
  const dynamo = await startLocalDynamo({ tableName: `cost-${grantCount}`, schema: synthesized.table });
  const slackUsers = people.map((p, r) => ({
    id: `U${String(r).padStart(8, '0')}`,
    name: p.github,
    email: p.email,
  }));
  const slack = await startSlackSandbox({ users: slackUsers, botToken: 'xoxb-bench' });
  const byHandler = new Map<HandlerName, Usage>();
  let current: HandlerName = 'start-campaign';
  const usage = (name: HandlerName) => {
    let entry = byHandler.get(name);
    if (!entry) {
      entry = { invocations: 0, seconds: 0, readUnits: 0, writeUnits: 0, calls: 0 };
      byHandler.set(name, entry);
    }
    return entry;
  };
  const table = countingTable(dynamo.table.tableName, dynamo.endpoint, (read, write) => {
    const entry = usage(current);
    entry.readUnits += read;
    entry.writeUnits += write;
    entry.calls++;
  });
  const grants = syntheticGrants(grantCount);
  const connector = syntheticConnector(grants);
  const completed = new Set<string>();
  const services: Services = {
    config,
    store: createStore(table),
    connectors: connectorRegistry({ github: async () => connector }),
    slack: async () => new WebClient('xoxb-bench', { slackApiUrl: slack.apiUrl }),
    tasks: {
      succeed: async (token) => {
        completed.add(token);
      },
    },
    now: () => new Date(),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    progress: () => undefined,
  };
  const outputs = new Map<HandlerName, unknown[]>();
  /** One Lambda invocation of `name`: timed, its DynamoDB use charged to it, its output kept for the replay. */
  const invoke = async <T>(name: HandlerName, work: () => Promise<T>, record = true): Promise<T> => {
    current = name;
    const start = performance.now();
    const result = await work();
    const entry = usage(name);
    entry.seconds += (performance.now() - start) / 1000;
    entry.invocations++;
    if (record) outputs.set(name, [...(outputs.get(name) ?? []), result]);
    return result;
  };
  try {
    const { campaignId } = await invoke('start-campaign', () =>
      startCampaign(
        { executionName: `bench-${grantCount}`, trigger: 'bench', requestedBy: 'bench' },
        services,
      ),
    );
    for (let call = 0; call < 100; call++) {
      const snapshot = await invoke('snapshot', () => takeSnapshot({ campaignId }, services));
      if (snapshot.complete) break;
    }
    const assigned = await invoke('assign-reviewers', () => assignReviewers({ campaignId }, services));
    for (const reviewer of assigned.reviewers) {
      await invoke('request-review', () =>
        requestReview({ campaignId, reviewer, taskToken: `token-${reviewer}` }, services),
      );
    }
    // Every assigned grant is decided by a click: the slack-events Lambda, once per click.
    const slackUserOf = new Map(people.map((p, r) => [p.github, slackUsers[r]!.id]));
    const assignedGrants = (await dynamo.table.client.send(
      // Read outside the counted client: this is the bench's bookkeeping, not the campaign's.
      new (
        await import('@aws-sdk/lib-dynamodb')
      ).QueryCommand({
        TableName: dynamo.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :grant)',
        ExpressionAttributeValues: { ':pk': `CAMPAIGN#${campaignId}`, ':grant': 'GRANT#' },
        ProjectionExpression: 'grantId, reviewer',
      }),
    )) as { Items?: Array<{ grantId: string; reviewer?: string }>; LastEvaluatedKey?: unknown };
    const toDecide: Array<{ grantId: string; reviewer: string }> = [];
    let page = assignedGrants;
    for (;;) {
      for (const item of page.Items ?? [])
        if (item.reviewer) toDecide.push(item as { grantId: string; reviewer: string });
      if (!page.LastEvaluatedKey) break;
      page = (await dynamo.table.client.send(
        new (
          await import('@aws-sdk/lib-dynamodb')
        ).QueryCommand({
          TableName: dynamo.table.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :grant)',
          ExpressionAttributeValues: { ':pk': `CAMPAIGN#${campaignId}`, ':grant': 'GRANT#' },
          ProjectionExpression: 'grantId, reviewer',
          ExclusiveStartKey: page.LastEvaluatedKey as Record<string, unknown>,
        }),
      )) as typeof assignedGrants;
    }
    for (const [index, { grantId, reviewer }] of toDecide.entries()) {
      await invoke(
        'slack-events',
        () =>
          recordDecision(
            {
              campaignId,
              grantId,
              decision: index % REVOKE_EVERY === 0 ? 'revoke' : 'keep',
              slackUserId: slackUserOf.get(reviewer)!,
            },
            services,
          ),
        false,
      );
    }
    if (completed.size !== assigned.reviewers.length) {
      throw new Error(`only ${completed.size} of ${assigned.reviewers.length} review tasks completed`);
    }
    await invoke('check-revocations', () => checkRevocations({ campaignId }, services));
    for (let call = 0; call < 100; call++) {
      if ((await invoke('apply-revocations', () => applyRevocations({ campaignId }, services))).complete)
        break;
    }
    for (let call = 0; call < 100; call++) {
      if ((await invoke('verify-revocations', () => verifyRevocations({ campaignId }, services))).complete)
        break;
    }
    await invoke('finalize', () => finalizeCampaign({ campaignId }, services));
    const transitions = await replayTransitions(synthesized, outputs, assigned.reviewers);
    return { grants: grantCount, reviewers: assigned.reviewers.length, byHandler, transitions };
  } finally {
    await slack.close();
    await dynamo.close();
  }
}

/**
 * Runs the synthesized definition with each Lambda state answering, in order, what its step
 * answered in the measured run (waiting states answer at once), and counts the states entered:
 * what Step Functions Standard bills as state transitions.
 */
async function replayTransitions(
  synthesized: ReturnType<typeof synthesizeForLocalHost>,
  outputs: Map<HandlerName, unknown[]>,
  reviewers: string[],
): Promise<number> {
  const queues = new Map([...outputs].map(([name, list]) => [name, [...list]]));
  const waiting = new Set(synthesized.waitForTaskTokenStates);
  const localHandlers: Record<string, (parameters: unknown) => Promise<unknown>> = {};
  for (const [state, handlerName] of Object.entries(synthesized.handlerByStateName)) {
    localHandlers[state] = async (parameters) => {
      if (waiting.has(state)) return {};
      const result = queues.get(handlerName)?.shift();
      if (result === undefined) throw new Error(`${state} entered more often than ${handlerName} ran`);
      const enveloped = parameters && typeof parameters === 'object' && 'FunctionName' in parameters;
      return enveloped ? { Payload: result, StatusCode: 200 } : result;
    };
  }
  const machine = new StateMachine(synthesized.definition as ConstructorParameters<typeof StateMachine>[0], {
    validationOptions: { checkArn: false },
  });
  let token = 0;
  const execution = machine.run(
    {},
    {
      overrides: { taskResourceLocalHandlers: localHandlers as never },
      context: {
        Execution: {
          Id: 'arn:aws:states:local:000000000000:execution:AccessReview:bench',
          Name: 'bench',
          StartTime: new Date().toISOString(),
          RoleArn: 'arn:aws:iam::000000000000:role/local',
          RedriveCount: 0,
        },
        get Task() {
          return { Token: `t-${token++}` };
        },
      },
    },
  );
  let entered = 0;
  const counting = (async () => {
    for await (const event of execution.eventLogs) if (event.type === 'StateEntered') entered++;
  })();
  await execution.result;
  await counting.catch(() => undefined);
  if (reviewers.length === 0) throw new Error('no reviewers');
  return entered;
}

interface Costs {
  transitions: number;
  gbSeconds: number;
  requests: number;
  readUnits: number;
  writeUnits: number;
}

function costsOf(m: Measurement): Costs & { byHandler: Map<HandlerName, Usage & { gbSeconds: number }> } {
  const byHandler = new Map<HandlerName, Usage & { gbSeconds: number }>();
  let gbSeconds = 0;
  let requests = 0;
  let readUnits = 0;
  let writeUnits = 0;
  for (const [name, use] of m.byHandler) {
    const memoryGb = handlerSpec(name).memoryMiB / 1024;
    // Waits the in-process run cannot have (see the constants above).
    const remoteSeconds =
      name === 'snapshot'
        ? GITHUB_REQUESTS_PER_SNAPSHOT * REMOTE_CALL_SECONDS * (m.grants / 100_000)
        : name === 'slack-events'
          ? use.invocations * REMOTE_CALL_SECONDS
          : 0;
    const seconds = use.seconds + remoteSeconds;
    const gb = seconds * memoryGb;
    byHandler.set(name, { ...use, seconds, gbSeconds: gb });
    gbSeconds += gb;
    requests += use.invocations;
    readUnits += use.readUnits;
    writeUnits += use.writeUnits;
  }
  return { transitions: m.transitions, gbSeconds, requests, readUnits, writeUnits, byHandler };
}

function dollars(c: Costs) {
  return {
    stepFunctions: c.transitions * PRICES.perStateTransition,
    lambda: c.gbSeconds * PRICES.perLambdaGbSecond + c.requests * PRICES.perLambdaRequest,
    dynamoWrites: c.writeUnits * PRICES.perWriteRequestUnit,
    dynamoReads: c.readUnits * PRICES.perReadRequestUnit,
  };
}

const money = (value: number) => `$${value.toFixed(4)}`;
const round = (value: number) =>
  value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/**
 * AssignReviewers' writes, before and after: the same assignments of `count` reviewable grants
 * written one UpdateItem at a time (as the step did) and 16 at a time (as it does now).
 */
export async function assignWritesBenchmark(count: number): Promise<string> {
  const config = parseConfig({
    github: { organization: 'acme' },
    routing: { fallbackReviewers: ['reviewer-0'] },
    people: [{ github: 'reviewer-0', email: 'reviewer-0@acme.example' }],
  });
  const dynamo = await startLocalDynamo({
    tableName: 'assign-writes',
    schema: synthesizeForLocalHost(config).table,
  });
  try {
    const store = createStore(dynamo.table);
    const grants = syntheticGrants(count);
    const assignments = grants.map((grant, i) => ({
      grantId: grant.grantId,
      reviewer: `reviewer-${i % 40}`,
      routingReason: `owner of ${grant.resource} (config)`,
      holderSlackUserIds: [],
    }));
    const rows: string[][] = [];
    for (const concurrency of [1, 16]) {
      const campaignId = `assign-${concurrency}`;
      await store.grants.putMany(
        grants.map((g) => ({ ...g, campaignId, snapshotAt: '2026-10-01T09:00:00.000Z' })),
      );
      const start = performance.now();
      await store.grants.assignMany(campaignId, assignments, concurrency);
      rows.push([String(concurrency), `${((performance.now() - start) / 1000).toFixed(1)} s`]);
    }
    const [before, after] = rows.map((row) => Number.parseFloat(row[1]!));
    return [
      `AssignReviewers' grant writes, ${count.toLocaleString('en-US')} reviewable grants, dynalite (before: one by one; after: 16 at a time):`,
      '',
      table(['UpdateItem calls in flight', 'time'], rows),
      '',
      `After ÷ before: ${((after ?? 0) / (before ?? 1)).toFixed(2)}.`,
    ].join('\n');
  } finally {
    await dynamo.close();
  }
}

export async function campaignCostBenchmark(): Promise<string> {
  // Two sizes (BENCH_COST_SIZES, default 1,000 and 2,000 grants: every click is a full in-process
  // decision, which is what takes the time), and the line through them.
  const [smallSize, largeSize] = (process.env.BENCH_COST_SIZES ?? '1000,2000').split(',').map(Number);
  // A small run first warms the JIT and dynalite; it is not reported.
  await measure(500);
  const small = await measure(smallSize ?? 2_000);
  const large = await measure(largeSize ?? 4_000);
  const [a, b] = [costsOf(small), costsOf(large)];
  const target = 100_000;
  const slope = (key: keyof Costs) => (b[key] - a[key]) / (large.grants - small.grants);
  const extrapolate = (key: keyof Costs) => b[key] + slope(key) * (target - large.grants);
  // Linear means the first grants cost what the next ones do: the cost per grant of the small run
  // (constant parts included) against the cost per grant added between the two runs.
  const agreement = (key: keyof Costs) => (slope(key) === 0 ? 1 : a[key] / small.grants / slope(key));
  /** The part that does not grow with grants (per campaign, per reviewer at a fixed share of grants). */
  const intercept = (key: keyof Costs) => a[key] - slope(key) * small.grants;
  const line = (key: keyof Costs) => `${round(intercept(key))} + ${round(slope(key) * 1_000)}`;
  const keys: Array<keyof Costs> = ['transitions', 'gbSeconds', 'requests', 'readUnits', 'writeUnits'];
  const projected: Costs = {
    transitions: extrapolate('transitions'),
    gbSeconds: extrapolate('gbSeconds'),
    requests: extrapolate('requests'),
    readUnits: extrapolate('readUnits'),
    writeUnits: extrapolate('writeUnits'),
  };
  const columns = [
    [`${small.grants.toLocaleString('en-US')} grants, ${small.reviewers} reviewers`, a],
    [`${large.grants.toLocaleString('en-US')} grants, ${large.reviewers} reviewers`, b],
    [`${target.toLocaleString('en-US')} grants (projected)`, projected],
  ] as const;
  const operations = table(
    [
      'counted',
      ...columns.map(([label]) => label),
      `per grant up to ${small.grants.toLocaleString('en-US')} ÷ per grant added up to ${large.grants.toLocaleString('en-US')}`,
      'line: constant + per 1,000 grants',
    ],
    [
      [
        'state transitions',
        ...columns.map(([, c]) => round(c.transitions)),
        agreement('transitions').toFixed(2),
        line('transitions'),
      ],
      [
        'Lambda GB-seconds',
        ...columns.map(([, c]) => round(c.gbSeconds)),
        agreement('gbSeconds').toFixed(2),
        line('gbSeconds'),
      ],
      [
        'Lambda requests',
        ...columns.map(([, c]) => round(c.requests)),
        agreement('requests').toFixed(2),
        line('requests'),
      ],
      [
        'DynamoDB read units',
        ...columns.map(([, c]) => round(c.readUnits)),
        agreement('readUnits').toFixed(2),
        line('readUnits'),
      ],
      [
        'DynamoDB write units',
        ...columns.map(([, c]) => round(c.writeUnits)),
        agreement('writeUnits').toFixed(2),
        line('writeUnits'),
      ],
    ],
  );
  const priced = columns.map(([label, c]) => [label, dollars(c)] as const);
  const pricing = table(
    ['', ...priced.map(([label]) => label)],
    [
      ['Step Functions', ...priced.map(([, d]) => money(d.stepFunctions))],
      ['Lambda', ...priced.map(([, d]) => money(d.lambda))],
      ['DynamoDB writes', ...priced.map(([, d]) => money(d.dynamoWrites))],
      ['DynamoDB reads', ...priced.map(([, d]) => money(d.dynamoReads))],
      [
        '**total**',
        ...priced.map(([, d]) => `**${money(d.stepFunctions + d.lambda + d.dynamoWrites + d.dynamoReads)}**`),
      ],
    ],
  );
  const steps = table(
    ['Lambda (memory)', 'invocations', 'seconds', 'GB-s', 'read units', 'write units', 'DynamoDB calls'],
    [...b.byHandler].map(([name, use]) => [
      `${name} (${handlerSpec(name).memoryMiB} MB)`,
      String(use.invocations),
      use.seconds.toFixed(1),
      use.gbSeconds.toFixed(1),
      round(use.readUnits),
      round(use.writeUnits),
      String(use.calls),
    ]),
  );
  const linear = keys.every((key) => Math.abs(agreement(key) - 1) <= 0.15);
  return [
    '### Cost of one campaign on AWS (counted operations)',
    '',
    `Prices: on-demand, ${PRICES.region}, as listed on ${PRICES.date}: Step Functions Standard $0.025 per 1,000 state transitions; Lambda $0.0000166667 per GB-second and $0.20 per million requests; DynamoDB $1.25 per million write and $0.25 per million read request units. Each reviewer has ${GRANTS_PER_REVIEWER} grants and decides each with one click (one slack-events invocation); one grant in ${REVOKE_EVERY} is revoked, applied and verified. GitHub is a stand-in that answers at once; its waits are added as ${GITHUB_REQUESTS_PER_SNAPSHOT.toLocaleString('en-US')} requests per 100,000 grants × ${REMOTE_CALL_SECONDS} s, and each click's redraw as ${REMOTE_CALL_SECONDS} s. Index writes are counted as DynamoDB bills them (dynalite charges the table only). Seconds are wall time on this machine, so Lambda figures are an upper bound for its CPU.`,
    '',
    operations,
    '',
    linear
      ? 'Every figure grows linearly (the two ratios within 15% of 1), so 100k is projected along the line through the two runs.'
      : `Not every figure is proportional to the grants (${keys.filter((key) => Math.abs(agreement(key) - 1) > 0.15).join(', ')}: ratio off 1 by more than 15%); the last column shows the line through the two runs, constant part first. State transitions are a constant per campaign plus one per reviewer (reviewers grow with grants here), which the line projects exactly; a wall-time figure off 1 is this machine's noise, not a cost that grows faster than the grants.`,
    '',
    pricing,
    '',
    await assignWritesBenchmark(Number(process.env.BENCH_ASSIGN_GRANTS ?? 20_000)),
    '',
    `Per step at ${large.grants.toLocaleString('en-US')} grants:`,
    '',
    steps,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // BENCH_ASSIGN_ONLY=1: only the AssignReviewers comparison.
  console.log(
    process.env.BENCH_ASSIGN_ONLY
      ? await assignWritesBenchmark(Number(process.env.BENCH_ASSIGN_GRANTS ?? 20_000))
      : await campaignCostBenchmark(),
  );
}
