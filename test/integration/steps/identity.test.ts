import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import { TransientError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import type { Services } from '../../../functions/runtime/services';
import { assignReviewers } from '../../../functions/steps/assign-reviewers';
import { recordDecision } from '../../../functions/steps/record-decision';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

/**
 * One person, one identity (issue 7): bob has a second GitHub login, bob-admin, whose email is an
 * alias of bob's Slack account. AssignReviewers must see one person, and RecordDecision must refuse
 * bob's click on access bob-admin holds, whatever the table says.
 */
const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0001';
const ERIN = 'U0ERIN001';

const config = parseConfig({
  github: { organization: 'acme' },
  routing: {
    owners: [
      { resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' },
      { resource: 'acme/web', resourceType: 'repository', reviewer: 'dave' },
    ],
    fallbackReviewers: ['alice', 'erin'],
  },
  people: [
    { github: 'alice', email: 'alice@acme.example' },
    { github: 'bob', email: 'bob@acme.example' },
    { github: 'bob-admin', email: 'bob.admin@acme.example' },
    // Listed, but has no Slack account.
    { github: 'dave', email: 'dave@acme.example' },
    { github: 'erin', email: 'erin@acme.example' },
  ],
});

let dynamo: LocalDynamo;
let slack: SlackSandbox;
let store: Store;
let client: WebClient;
let warnings: Array<{ message: string; fields: Record<string, unknown> | undefined }>;
let campaignCounter = 0;

function servicesWith(slackClient: WebClient): Services {
  return testServices(store, {
    config,
    slack: async () => slackClient,
    log: {
      info: () => undefined,
      warn: (message: string, fields?: Record<string, unknown>) => {
        warnings.push({ message, fields });
      },
      error: () => undefined,
    },
  });
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('identity'));
  slack = await startSlackSandbox({
    users: [
      { id: ALICE, name: 'alice', email: 'alice@acme.example' },
      // bob-admin's address is an alias of bob's Slack account: the sandbox resolves it, as Slack does.
      { id: BOB, name: 'bob', email: 'bob@acme.example', aliases: ['Bob.Admin@acme.example'] },
      { id: ERIN, name: 'erin', email: 'erin@acme.example' },
    ],
    botToken: 'xoxb-test',
  });
  client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl });
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
});

const access = (principal: string, resource = 'acme/api', holder?: string): Grant =>
  makeGrant(
    {
      connector: 'github',
      grantKind: holder ? 'personal_access_token' : 'user_repository',
      resourceType: 'repository',
      resource,
      principalType: holder ? 'personal_access_token' : 'user',
      principal,
      entitlement: 'write',
      via: { kind: 'direct' },
    },
    holder ? { holder } : {},
  );

async function campaignWith(status: 'assigning' | 'in_review', grants: Grant[]): Promise<string> {
  const campaignId = `c-identity-${++campaignCounter}`;
  await createTestCampaign(store, campaignId, status);
  const snapshotAt = new Date().toISOString();
  await store.grants.putMany(grants.map((grant) => ({ ...grant, campaignId, snapshotAt })));
  return campaignId;
}

describe('AssignReviewers with two logins that reach one Slack user', () => {
  it('routes past the other login, stores holders’ Slack users and records who is who', async () => {
    warnings = [];
    const own = access('bob-admin');
    const other = access('carol');
    const web = access('carol', 'acme/web');
    const campaignId = await campaignWith('assigning', [own, other, web]);
    const lookupsBefore = slack.calls().filter((c) => c.method === 'users.lookupByEmail').length;

    const output = await assignReviewers({ campaignId }, servicesWith(client));

    expect(output).toMatchObject({ reviewers: ['alice', 'bob'], unroutableCount: 0 });
    const stored = await store.grants.get(campaignId, own.grantId);
    expect(stored).toMatchObject({
      reviewer: 'alice',
      routingReason:
        'fallback reviewer: bob (owner of repository acme/api) is the same Slack user as bob-admin, who holds this access',
      holderSlackUserIds: [BOB],
    });
    expect(await store.grants.get(campaignId, other.grantId)).toMatchObject({
      reviewer: 'bob',
      holderSlackUserIds: [],
    });
    // dave owns acme/web but is not in Slack: the next candidate is asked, as before.
    expect(await store.grants.get(campaignId, web.grantId)).toMatchObject({
      reviewer: 'alice',
      routingReason: expect.stringContaining('dave') as unknown as string,
    });
    expect((await store.tasks.get(campaignId, 'bob'))?.slackUserId).toBe(BOB);

    // Everyone involved is looked up once: holders and candidates alike, before routing.
    const lookups = slack
      .calls()
      .filter((c) => c.method === 'users.lookupByEmail')
      .slice(lookupsBefore);
    expect(lookups.map((c) => `${String(c.args.email)} ${c.ok ? 'found' : c.error}`).sort()).toEqual([
      'alice@acme.example found',
      // bob-admin's address as configured: the sandbox finds bob by his alias (listed in other case).
      'bob.admin@acme.example found',
      'bob@acme.example found',
      'dave@acme.example users_not_found',
      'erin@acme.example found',
    ]);

    const assigned = (await store.events.list(campaignId)).find((e) => e.type === 'reviewers_assigned');
    expect(assigned?.data).toMatchObject({
      identities: [
        { login: 'alice', slackUserId: ALICE },
        { login: 'bob', slackUserId: BOB },
        { login: 'bob-admin', slackUserId: BOB },
        { login: 'erin', slackUserId: ERIN },
      ],
      sameSlackUser: [{ slackUserId: BOB, logins: ['bob', 'bob-admin'] }],
      unreachable: [{ login: 'dave', why: 'not found in Slack by email' }],
    });
    expect(warnings.map((w) => w.message)).toContain('logins reach one Slack user; treated as one person');
  });

  it('fails as transient when Slack answers a lookup with another error', async () => {
    const campaignId = await campaignWith('assigning', [access('carol')]);
    slack.failNext('users.lookupByEmail', { error: 'fatal_error' });
    await expect(assignReviewers({ campaignId }, servicesWith(client))).rejects.toBeInstanceOf(
      TransientError,
    );
  });
});

describe('RecordDecision refuses a decision on the clicker’s own access', () => {
  /**
   * Writes the grants straight into the table assigned to `reviewer`, as nothing in routing would,
   * with one open task: the guard must hold against the table itself.
   */
  async function assignedDirectly(
    reviewer: string,
    slackUserId: string,
    grants: Array<{ grant: Grant; holderSlackUserIds?: string[] }>,
  ): Promise<string> {
    const campaignId = await campaignWith(
      'in_review',
      grants.map((g) => g.grant),
    );
    for (const { grant, holderSlackUserIds } of grants) {
      await store.grants.assign(
        campaignId,
        grant.grantId,
        reviewer,
        'written by the test',
        holderSlackUserIds,
      );
    }
    await store.tasks.create({
      campaignId,
      reviewer,
      slackUserId,
      grantCount: grants.length,
      status: 'pending',
      dueAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await store.tasks.storeToken(campaignId, reviewer, `token-${campaignId}`, new Date(), new Date());
    return campaignId;
  }

  async function expectRefusedAndNothingWritten(campaignId: string, grant: Grant, slackUserId: string) {
    const eventsBefore = (await store.events.list(campaignId)).length;
    const outcome = await recordDecision(
      { campaignId, grantId: grant.grantId, decision: 'keep', slackUserId },
      servicesWith(client),
    );
    expect(outcome).toEqual({ kind: 'refused', reason: 'Nobody decides on their own access.' });
    expect(await store.decisions.get(campaignId, grant.grantId)).toBeUndefined();
    expect((await store.events.list(campaignId)).length).toBe(eventsBefore);
    const task = await store.tasks.get(
      campaignId,
      (await store.grants.get(campaignId, grant.grantId))!.reviewer!,
    );
    expect(task?.decidedCount).toBe(0);
    expect(warnings.map((w) => w.message)).toContain('decision refused: the clicker holds this access');
  }

  it('by Slack user: bob cannot keep what bob-admin holds, but decides carol’s grant', async () => {
    warnings = [];
    const own = access('bob-admin');
    const other = access('carol');
    const campaignId = await assignedDirectly('bob', BOB, [
      { grant: own, holderSlackUserIds: [BOB] },
      { grant: other, holderSlackUserIds: [] },
    ]);
    await expectRefusedAndNothingWritten(campaignId, own, BOB);
    expect(warnings.at(-1)?.fields).toMatchObject({ matchedBy: 'slack_user_id', slackUserId: BOB });
    // The same click on a grant bob does not hold is recorded: the refusal is about the holder.
    const outcome = await recordDecision(
      { campaignId, grantId: other.grantId, decision: 'keep', slackUserId: BOB },
      servicesWith(client),
    );
    expect(outcome.kind).toBe('recorded');
  });

  it('by login: a grant of the reviewer’s own, or held by them (a token), stored without Slack users', async () => {
    warnings = [];
    const own = access('alice');
    const token = access("alice's token 3 (cli)", 'acme/api', 'alice');
    const campaignId = await assignedDirectly('alice', ALICE, [{ grant: own }, { grant: token }]);
    await expectRefusedAndNothingWritten(campaignId, own, ALICE);
    await expectRefusedAndNothingWritten(campaignId, token, ALICE);
    expect(warnings.at(-1)?.fields).toMatchObject({ matchedBy: 'login' });
  });
});
