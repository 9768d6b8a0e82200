import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AccessReviewConfig, parseConfig } from '../../../functions/core/config';
import { makeGrant } from '../../../functions/core/grant';
import { emailReminder, emailReviewTask } from '../../../functions/email/review-task';
import { sesEmailSender } from '../../../functions/email/sender';
import type { Services } from '../../../functions/runtime/services';
import type { StoredGrant } from '../../../functions/store/grants';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type LocalSes, startLocalSes } from '../../support/local-ses';
import { createTestCampaign, startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';

// The review task and its reminders by email, for a reviewer not found in Slack: what they say
// (the grants, the deadline, that nothing is decided by email, what happens if nobody decides),
// sent once each through the real SES v2 client to aws-ses-v2-local.

const FROM = 'access-review@acme.example';
let dynamo: LocalDynamo;
let store: Store;
let ses: LocalSes;

function configWith(
  review: Record<string, unknown>,
  email: Record<string, unknown> = {},
): AccessReviewConfig {
  const base = JSON.parse(JSON.stringify(TEST_CONFIG)) as Record<string, unknown>;
  return parseConfig({
    ...base,
    people: [...(base.people as unknown[]), { github: 'dave', email: 'dave@acme.example' }],
    review: { windowHours: 336, ...review },
    notifications: { email: { from: FROM, to: ['security@acme.example'], ...email } },
  });
}

function services(config: AccessReviewConfig): Services {
  return testServices(store, {
    config,
    email: sesEmailSender({ ...config.notifications!.email!, endpoint: ses.endpoint }, ses.clientConfig),
  });
}

function grant(
  principal: string,
  resource: string,
  entitlement: string,
  extra: Partial<StoredGrant> = {},
): StoredGrant {
  return {
    ...makeGrant({
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource,
      principalType: 'user',
      principal,
      entitlement,
      via: { kind: 'direct' },
    }),
    campaignId: 'c',
    snapshotAt: new Date().toISOString(),
    ...extra,
  } as StoredGrant;
}

const grants = [
  grant('mallory', 'acme/web', 'admin', {
    flags: ['admin'] as never,
    context: { newSinceLastCampaign: true },
  }),
  grant('<b>trent</b>', 'acme/api', 'write', {
    context: { newSinceLastCampaign: false, lastDecision: 'keep' },
  }),
];
const dueAt = '2026-12-16T09:00:00.000Z';

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('review-task-email'));
  ses = await startLocalSes({ verifiedIdentities: ['acme.example'] });
}, 120_000);

afterAll(async () => {
  await ses?.close();
  await dynamo?.close();
});

beforeEach(() => ses.clear());

describe('review task by email', () => {
  it('lists the grants and the deadline, decides nothing, says what happens to undecided grants, once', async () => {
    const campaignId = 'c-task-email';
    await createTestCampaign(store, campaignId, 'in_review');
    const config = configWith({
      escalateAfterHours: 240,
      endOfWindow: { default: 'leave', byGrantKind: { deploy_key: 'revoke' } },
    });
    const task = { campaignId, reviewer: 'dave', email: 'dave@acme.example', grants, dueAt };
    expect(await emailReviewTask(services(config), task)).toBe('sent');
    expect(await emailReviewTask(services(config), task)).toBe('already_sent');

    const [mail, ...more] = await ses.emails();
    expect(more).toEqual([]);
    expect(mail!.to).toEqual(['dave@acme.example']);
    expect(mail!.tags).toEqual([{ Name: 'purpose', Value: 'review_task' }]);
    expect(mail!.subject).toBe(`Access review ${campaignId}: 2 grants to review by 2026-12-16 09:00 UTC`);
    const text = mail!.text!;
    expect(text).toContain('You cannot decide by email, and nothing in this email keeps or removes access');
    expect(text).toContain(
      '240 hours after the request, grants still undecided move to the next eligible reviewer in Slack',
    );
    expect(text).toContain(
      'When the review window closes, grants nobody decided stay undecided and are reported to the security team (except deploy_key: are revoked)',
    );
    // Sorted by resource: acme/api before acme/web.
    expect(text).toMatch(
      /- acme\/api \| <b>trent<\/b> \| write \| user_repository \| last campaign: keep\n {2}- acme\/web \| mallory \| admin \| user_repository \| admin, new since the last campaign/,
    );
    // No link of any kind, and the hostile login is text.
    expect(mail!.html).not.toMatch(/<a\b|href=|https?:/i);
    expect(mail!.html).toContain('&lt;b&gt;trent&lt;/b&gt;');
    const events = (await store.events.list(campaignId)).filter((event) => event.type === 'email_sent');
    expect(events.map((event) => event.data)).toEqual([
      { purpose: 'review_task', to: 1, reviewer: 'dave', messageId: mail!.messageId },
    ]);
  });

  it('sends each reminder once, listing what is still undecided', async () => {
    const campaignId = 'c-task-reminders';
    await createTestCampaign(store, campaignId, 'in_review');
    const config = configWith({});
    const reminder = {
      campaignId,
      reviewer: 'dave',
      email: 'dave@acme.example',
      grants: grants.slice(0, 1),
      dueAt,
      reminders: 3,
    };
    expect(await emailReminder(services(config), { ...reminder, number: 1 })).toBe('sent');
    expect(await emailReminder(services(config), { ...reminder, number: 1 })).toBe('already_sent');
    expect(await emailReminder(services(config), { ...reminder, number: 2 })).toBe('sent');
    const mail = await ses.emails();
    expect(mail.map((email) => email.subject)).toEqual([
      `Reminder 1 of 3: access review ${campaignId}, 1 grant left, due 2026-12-16 09:00 UTC`,
      `Reminder 2 of 3: access review ${campaignId}, 1 grant left, due 2026-12-16 09:00 UTC`,
    ]);
    expect(mail[0]!.text).toContain('1 grant you were asked to review in campaign');
    expect(mail[0]!.text).toContain('When the review window closes, grants nobody decided stay undecided');
    expect(mail[0]!.text).not.toContain('hours after the request');
  });

  it('sends nothing when review tasks are not emailed', async () => {
    const campaignId = 'c-task-off';
    await createTestCampaign(store, campaignId, 'in_review');
    const config = configWith({}, { reviewTasks: false });
    expect(
      await emailReviewTask(services(config), {
        campaignId,
        reviewer: 'dave',
        email: 'dave@acme.example',
        grants,
        dueAt,
      }),
    ).toBe('not_configured');
    expect(await ses.emails()).toEqual([]);
  });
});
