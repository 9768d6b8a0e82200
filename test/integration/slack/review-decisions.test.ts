import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Grant, type GrantKey, makeGrant } from '../../../functions/core/grant';
import type { Services, TaskCompleter } from '../../../functions/runtime/services';
import { bulkKeep } from '../../../functions/steps/bulk-keep';
import { recordDecision } from '../../../functions/steps/record-decision';
import type { Store } from '../../../functions/store/index';
import { keys } from '../../../functions/store/table';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

/**
 * What a click, a modal's submission and "Keep all remaining" may write, against dynalite: the
 * decider of a handed-over grant, a Keep that needs a typed reason, a downgrade the source offers,
 * a cancelled review, and a bulk keep submitted twice.
 */
const ALICE = 'U0ALICE01';
const CAROL = 'U0CAROL01';

let dynamo: LocalDynamo;
let store: Store;
let services: Services;
let sent: string[];
let counter = 0;

const tasks: TaskCompleter = {
  async succeed(token) {
    sent.push(token);
  },
};

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('review-decisions'));
  services = testServices(store, { tasks });
});

afterAll(async () => {
  await dynamo?.close();
});

const key = (principal: string, entitlement: string, extra: Partial<GrantKey> = {}): GrantKey => ({
  connector: 'github',
  grantKind: 'user_repository',
  resourceType: 'repository',
  resource: 'acme/api',
  principalType: 'user',
  principal,
  entitlement,
  via: { kind: 'direct' },
  ...extra,
});

let campaignId: string;
let plain: Grant[];
let admin: Grant;
let deployKey: Grant;

async function seed(grants: Grant[]): Promise<void> {
  const now = new Date().toISOString();
  await createTestCampaign(store, campaignId, 'in_review');
  await store.grants.putMany(grants.map((grant) => ({ ...grant, campaignId, snapshotAt: now })));
  for (const grant of grants)
    await store.grants.assign(campaignId, grant.grantId, 'alice', 'owner of acme/api');
  await store.tasks.create({
    campaignId,
    reviewer: 'alice',
    slackUserId: ALICE,
    grantCount: grants.length,
    status: 'pending',
    dueAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  await store.tasks.storeToken(
    campaignId,
    'alice',
    `token-${campaignId}`,
    new Date(),
    new Date(Date.now() + 3_600_000),
  );
}

beforeEach(async () => {
  sent = [];
  campaignId = `c-${++counter}`;
  plain = ['bob', 'dave', 'frank'].map((login) => makeGrant(key(login, 'write')));
  admin = makeGrant(key('erin', 'admin'));
  deployKey = makeGrant(
    key('deploy key 7 (ci)', 'write', { grantKind: 'deploy_key', principalType: 'deploy_key' }),
  );
  await seed([...plain, admin, deployKey]);
});

async function handOver(grantId: string, to: string, slackUserId: string): Promise<void> {
  await dynamo.table.client.send(
    new UpdateCommand({
      TableName: dynamo.table.tableName,
      Key: { pk: keys.campaign(campaignId), sk: keys.grant(grantId) },
      UpdateExpression: 'SET assignee = :to, assigneeSlackUserId = :slack, assignedBy = :by',
      ExpressionAttributeValues: { ':to': to, ':slack': slackUserId, ':by': 'delegation' },
    }),
  );
}

async function writes() {
  return {
    decisions: (await store.decisions.list(campaignId)).length,
    events: (await store.events.list(campaignId)).length,
  };
}

describe('a Keep on a grant that needs a reason', () => {
  it('is refused from a forged Keep button, a ready-made menu reason and a too short text, writing nothing', async () => {
    const before = await writes();
    const forged = await recordDecision(
      { campaignId, grantId: admin.grantId, decision: 'keep', slackUserId: ALICE },
      services,
    );
    expect(forged).toEqual({
      kind: 'refused',
      reason: 'Keeping this grant needs a written reason (admin access): use Keep… and give one.',
    });
    const menu = await recordDecision(
      {
        campaignId,
        grantId: admin.grantId,
        decision: 'keep',
        slackUserId: ALICE,
        justification: 'Keep — needed for their current role',
        justificationSource: 'reason',
      },
      services,
    );
    expect(menu.kind).toBe('refused');
    const short = await recordDecision(
      {
        campaignId,
        grantId: deployKey.grantId,
        decision: 'keep',
        slackUserId: ALICE,
        justification: '  needed ',
        justificationSource: 'typed',
      },
      services,
    );
    expect(short).toMatchObject({ kind: 'refused', reason: expect.stringContaining('at least 10') });
    expect(await writes()).toEqual(before);
  });

  it('is recorded with the typed reason, in the decision and its event', async () => {
    const outcome = await recordDecision(
      {
        campaignId,
        grantId: admin.grantId,
        decision: 'keep',
        slackUserId: ALICE,
        justification: ' Release manager for the Q1 launch\r\nuntil March ',
        justificationSource: 'typed',
      },
      services,
    );
    expect(outcome.kind).toBe('recorded');
    const decision = await store.decisions.get(campaignId, admin.grantId);
    expect(decision?.justification).toBe('Release manager for the Q1 launch\nuntil March');
    const event = (await store.events.list(campaignId)).find((e) => e.type === 'decision_recorded');
    expect(event?.data).toMatchObject({
      grantId: admin.grantId,
      decision: 'keep',
      justification: 'Release manager for the Q1 launch\nuntil March',
    });
    expect(event?.data).not.toHaveProperty('decidedBy');
  });

  it('needs no reason when the configuration lists no class', async () => {
    const relaxed: Services = {
      ...services,
      config: { ...services.config, review: { ...services.config.review, justificationRequiredFor: [] } },
    };
    const outcome = await recordDecision(
      { campaignId, grantId: admin.grantId, decision: 'keep', slackUserId: ALICE },
      relaxed,
    );
    expect(outcome.kind).toBe('recorded');
  });
});

describe('a handed-over grant', () => {
  it('is decided by its assignee only, recorded with decidedBy; the original reviewer is told where it went', async () => {
    const grantId = plain[0]!.grantId;
    await handOver(grantId, 'carol', CAROL);
    const before = await writes();
    const byReviewer = await recordDecision(
      { campaignId, grantId, decision: 'revoke', slackUserId: ALICE },
      services,
    );
    expect(byReviewer).toEqual({
      kind: 'refused',
      reason: 'This grant was handed over to carol; they decide it now.',
    });
    expect(await writes()).toEqual(before);
    const byAssignee = await recordDecision(
      { campaignId, grantId, decision: 'revoke', slackUserId: CAROL },
      services,
    );
    expect(byAssignee.kind).toBe('recorded');
    const decision = await store.decisions.get(campaignId, grantId);
    expect(decision).toMatchObject({ reviewer: 'alice', decidedBy: 'carol', decidedBySlackUserId: CAROL });
    const event = (await store.events.list(campaignId)).find((e) => e.type === 'decision_recorded');
    expect(event?.data).toMatchObject({
      reviewer: 'alice',
      decidedBy: 'carol',
      decidedBySlackUserId: CAROL,
    });
    // Counted on the task the grant belongs to.
    expect((await store.tasks.get(campaignId, 'alice'))?.decidedCount).toBe(1);
  });

  it('is refused to an assignee who holds the access', async () => {
    const grantId = plain[0]!.grantId;
    await handOver(grantId, 'bob', 'U0BOB0001');
    const outcome = await recordDecision(
      { campaignId, grantId, decision: 'keep', slackUserId: 'U0BOB0001' },
      services,
    );
    expect(outcome).toEqual({ kind: 'refused', reason: 'Nobody decides on their own access.' });
  });
});

describe('a downgrade', () => {
  it('is recorded only to an entitlement the source offers', async () => {
    const before = await writes();
    for (const downgradeTo of ['admin', 'owner', undefined]) {
      const outcome = await recordDecision(
        {
          campaignId,
          grantId: admin.grantId,
          decision: 'downgrade',
          slackUserId: ALICE,
          ...(downgradeTo ? { downgradeTo } : {}),
        },
        services,
      );
      expect(outcome.kind).toBe('refused');
    }
    // A write grant has nothing lower to go to at GitHub's side that downgradeOptions offers.
    const plainDown = await recordDecision(
      {
        campaignId,
        grantId: plain[0]!.grantId,
        decision: 'downgrade',
        slackUserId: ALICE,
        downgradeTo: 'read',
      },
      services,
    );
    expect(plainDown.kind).toBe('refused');
    expect(await writes()).toEqual(before);
    const outcome = await recordDecision(
      { campaignId, grantId: admin.grantId, decision: 'downgrade', slackUserId: ALICE, downgradeTo: 'write' },
      services,
    );
    expect(outcome.kind).toBe('recorded');
    expect(await store.decisions.get(campaignId, admin.grantId)).toMatchObject({
      decision: 'downgrade',
      downgradeTo: 'write',
    });
    const event = (await store.events.list(campaignId)).find((e) => e.type === 'decision_recorded');
    expect(event?.data).toMatchObject({ decision: 'downgrade', downgradeTo: 'write' });
  });
});

describe('a cancelled review', () => {
  it('refuses a click with a message saying so', async () => {
    await store.tasks.close(campaignId, 'alice', 'cancelled', new Date());
    const outcome = await recordDecision(
      { campaignId, grantId: plain[0]!.grantId, decision: 'revoke', slackUserId: ALICE },
      services,
    );
    expect(outcome).toEqual({
      kind: 'refused',
      reason: 'This review was cancelled by the security team; nothing more is decided in it.',
    });
    expect(await store.decisions.get(campaignId, plain[0]!.grantId)).toBeUndefined();
  });
});

describe('Keep all remaining', () => {
  const keepAll = async (slackUserId = ALICE) => {
    const task = await store.tasks.get(campaignId, 'alice');
    return bulkKeep(services, {
      campaignId,
      slackUserId,
      scope: { kind: 'task', task: task! },
      deadline: performance.now() + 10_000,
    });
  };

  it('keeps the open grants that need no reason, once each with bulk: true, and leaves the others', async () => {
    await recordDecision(
      { campaignId, grantId: plain[1]!.grantId, decision: 'revoke', slackUserId: ALICE },
      services,
    );
    await handOver(plain[2]!.grantId, 'carol', CAROL);
    const outcome = await keepAll();
    expect(outcome).toMatchObject({ kept: 1, alreadyDecided: 1, needReason: 2, notYours: 1, complete: true });
    const decisions = await store.decisions.list(campaignId);
    expect(decisions.map((d) => [d.grantId, d.decision, d.bulk ?? false]).sort()).toEqual(
      [
        [plain[0]!.grantId, 'keep', true],
        [plain[1]!.grantId, 'revoke', false],
      ].sort(),
    );
    const events = (await store.events.list(campaignId)).filter((e) => e.type === 'decision_recorded');
    expect(events.map((e) => e.data.bulk ?? false).sort()).toEqual([false, true]);

    // The confirmation submitted twice (and at once) writes nothing more.
    const before = await writes();
    const again = await Promise.all([keepAll(), keepAll()]);
    for (const result of again) expect(result.kept).toBe(0);
    expect(await writes()).toEqual(before);
    expect((await store.tasks.get(campaignId, 'alice'))?.decidedCount).toBe(2);
  });

  it('keeps nothing for a clicker who is not the decider', async () => {
    const outcome = await keepAll(CAROL);
    expect(outcome.kept).toBe(0);
    expect(await store.decisions.list(campaignId)).toEqual([]);
  });

  it('stops at its deadline and goes on at the next click', async () => {
    const task = await store.tasks.get(campaignId, 'alice');
    const late = await bulkKeep(services, {
      campaignId,
      slackUserId: ALICE,
      scope: { kind: 'task', task: task! },
      deadline: performance.now() - 1,
    });
    expect(late).toMatchObject({ kept: 0, complete: false });
    expect(late.notReached).toBeGreaterThan(0);
    expect((await keepAll()).kept).toBe(3);
  });

  it('completes the task and resumes the workflow when it keeps the last open grants', async () => {
    for (const grant of [admin, deployKey]) {
      await recordDecision(
        {
          campaignId,
          grantId: grant.grantId,
          decision: 'keep',
          slackUserId: ALICE,
          justification: 'needed for the release train',
          justificationSource: 'typed',
        },
        services,
      );
    }
    expect((await keepAll()).kept).toBe(3);
    expect((await store.tasks.get(campaignId, 'alice'))?.status).toBe('completed');
    expect(sent).toEqual([`token-${campaignId}`]);
  });
});
