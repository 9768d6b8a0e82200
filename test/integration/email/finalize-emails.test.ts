import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AccessReviewConfig, parseConfig } from '../../../functions/core/config';
import { ThrottledError } from '../../../functions/core/errors';
import { emailMarkerKey } from '../../../functions/email/once';
import { sesEmailSender } from '../../../functions/email/sender';
import type { Services } from '../../../functions/runtime/services';
import { finalizeCampaign } from '../../../functions/steps/finalize';
import { verifyChain } from '../../../functions/store/events';
import type { Store } from '../../../functions/store/index';
import { getItem } from '../../../functions/store/query';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type LocalSes, SES_FAULTS, startLocalSes } from '../../support/local-ses';
import { startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

// Finalize's summary and "needs attention" emails, sent through the real SES v2 client to
// aws-ses-v2-local (behind lib/local/ses.ts), with the campaign in dynalite: what they say, that
// each is sent once however often Finalize runs, and that their email_sent events are in the chain
// campaign_completed closes.

const FROM = 'access-review@acme.example';
const TO = ['security@acme.example', 'ciso@acme.example'];

let dynamo: LocalDynamo;
let store: Store;
let ses: LocalSes;
let config: AccessReviewConfig;

function services(overrides: Partial<Services> = {}): Services {
  return testServices(store, {
    config,
    email: sesEmailSender({ ...config.notifications!.email!, endpoint: ses.endpoint }, ses.clientConfig),
    ...overrides,
  });
}

const at = () => new Date().toISOString();

/**
 * alice decided both her grants (keep mallory, revoke trent: applied and verified gone); bob did not
 * answer (one grant left undecided, one kept by the end-of-window policy, one escalated to carol);
 * carol revoked two: one failed, one needs a person.
 */
async function seedCampaign(campaignId: string): Promise<Record<string, string>> {
  const [mallory, trent] = await seedReviewTask(store, {
    campaignId,
    reviewer: 'alice',
    slackUserId: 'U0ALICE01',
    principals: ['mallory', 'trent'],
    entitlement: 'admin',
  });
  const seedMore = async (reviewer: string, principals: string[]) => {
    const ids = await seedReviewTask(store, {
      campaignId: `${campaignId}-scratch-${reviewer}`,
      reviewer,
      slackUserId: `U0${reviewer.toUpperCase()}01`,
      principals,
      entitlement: 'write',
    });
    // Same grants, in this campaign (the helper seeds its own campaign each time).
    const grants = await store.grants.list(`${campaignId}-scratch-${reviewer}`);
    await store.grants.putMany(grants.map((grant) => ({ ...grant, campaignId })));
    for (const id of ids) await store.grants.assign(campaignId, id, reviewer, 'fallback reviewer');
    await store.tasks.create({
      campaignId,
      reviewer,
      slackUserId: `U0${reviewer.toUpperCase()}01`,
      grantCount: ids.length,
      status: 'pending',
      dueAt: at(),
    });
    return ids;
  };
  const [victor, walter, xavier] = await seedMore('bob', ['victor', 'walter', 'xavier']);
  const [img, scanner] = await seedMore('carol', ['<img src=x onerror=alert(1)>', 'dependency-scanner']);
  const decide = async (grantId: string, reviewer: string, decision: 'keep' | 'revoke') => {
    await store.decisions.record({
      campaignId,
      grantId,
      decision,
      reviewer,
      decidedBySlackUserId: `U0${reviewer.toUpperCase()}01`,
      decidedAt: at(),
      channel: 'slack',
    });
    await store.tasks.countDecision(campaignId, reviewer, decision);
  };
  await decide(mallory!, 'alice', 'keep');
  await decide(trent!, 'alice', 'revoke');
  await decide(img!, 'carol', 'revoke');
  await decide(scanner!, 'carol', 'revoke');
  await store.tasks.close(campaignId, 'alice', 'completed', new Date());
  await store.tasks.close(campaignId, 'carol', 'completed', new Date());
  await store.tasks.close(campaignId, 'bob', 'unresponsive', new Date());
  await store.events.append(
    campaignId,
    'reviewer_unresponsive',
    { reviewer: 'bob', undecided: 3, decided: 0 },
    new Date(),
  );
  await store.events.append(
    campaignId,
    'window_policy_applied',
    { grantId: walter, reviewer: 'bob', grantKind: 'user_repository', policy: 'keep' },
    new Date(),
  );
  await store.events.append(
    campaignId,
    'grant_reassigned',
    {
      grantId: xavier,
      taskReviewer: 'bob',
      from: 'bob',
      to: 'carol',
      toSlackUserId: 'U0CAROL01',
      by: 'escalation',
      actorSlackUserId: null,
      note: null,
    },
    new Date(),
  );
  for (const [grantId, status, extra] of [
    [trent!, 'removed', {}],
    [img!, 'failed', { error: 'GitHub answered 422: <script>alert(1)</script>' }],
    [scanner!, 'remediation_required', { remediation: 'An org owner uninstalls dependency-scanner' }],
  ] as const) {
    await store.outcomes.beginRevocation(campaignId, grantId, at());
    await store.outcomes.finishRevocation({ campaignId, grantId, status, at: at(), ...extra });
  }
  await store.outcomes.recordVerification({
    campaignId,
    grantId: trent!,
    status: 'absent',
    checkedAt: at(),
    paths: [],
  });
  for (const status of ['revoking', 'verifying'] as const) await store.campaigns.advance(campaignId, status);
  return {
    mallory: mallory!,
    trent: trent!,
    victor: victor!,
    walter: walter!,
    xavier: xavier!,
    img: img!,
    scanner: scanner!,
  };
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('finalize-emails'));
  ses = await startLocalSes({ verifiedIdentities: ['acme.example'] });
  config = parseConfig({
    ...(JSON.parse(JSON.stringify(TEST_CONFIG)) as Record<string, unknown>),
    notifications: { email: { from: FROM, to: TO } },
  });
}, 120_000);

afterAll(async () => {
  await ses?.close();
  await dynamo?.close();
});

beforeEach(() => ses.clear());

describe('Finalize emails', () => {
  it('sends the summary and what needs attention once, before the event that closes the chain', async () => {
    const campaignId = 'c-email-summary';
    await seedCampaign(campaignId);

    await finalizeCampaign({ campaignId }, services());
    // A retried Finalize, and a redriven one after completion: nothing is sent again.
    await finalizeCampaign({ campaignId }, services());

    const mail = await ses.emails();
    expect(mail.map((email) => email.subject)).toEqual([
      `access-review: campaign ${campaignId} completed`,
      `access-review: campaign ${campaignId} needs attention`,
    ]);
    const [summary, attention] = mail;
    for (const email of mail) {
      expect(email.from).toBe(FROM);
      expect(email.to).toEqual(TO);
    }
    expect(summary!.tags).toEqual([{ Name: 'purpose', Value: 'summary' }]);
    expect(attention!.tags).toEqual([{ Name: 'purpose', Value: 'needs_attention' }]);

    const text = summary!.text!;
    expect(text).toContain('Grants:               7 (7 reviewable)');
    expect(text).toContain('Reviewers:            3 asked: 2 completed, 1 unresponsive');
    expect(text).toContain('Decisions:            4: 1 kept, 3 revoked, 0 downgraded');
    expect(text).toContain('Handed over:          1 by escalation, 0 by delegation');
    expect(text).toContain('  - alice | 2 of 2 | completed');
    expect(text).toContain('  - bob | 0 of 3 | unresponsive');
    expect(text).toMatch(/Applied:\s+1\n\s+Verified gone:\s+1\n/);
    expect(text).toMatch(/Failed:\s+1\n/);
    expect(text).toMatch(/Remediation by a person:\s+1 \(1 still open\)\n/);
    expect(text).toContain(
      'Decided by the end-of-window policy (not by a reviewer) (Grant | Reviewer | Policy)\n  - walter → acme/api (write, user_repository) | bob | keep',
    );
    expect(text).toContain(
      'Some items need a person: they are listed in a separate "needs attention" email.',
    );

    const needs = attention!.text!;
    expect(needs).toContain('Revocations that failed (1)');
    expect(needs).toContain(
      '  - <img src=x onerror=alert(1)> → acme/api (write, user_repository) | GitHub answered 422: <script>alert(1)</script>',
    );
    expect(needs).toContain('Remediation by a person (1)');
    expect(needs).toContain('An org owner uninstalls dependency-scanner');
    expect(needs).toContain('Reviewers who did not answer (1)');
    expect(needs).toContain('  - bob | 3');
    expect(needs).toContain('  - xavier → acme/api (write, user_repository) | bob | carol');
    expect(needs).not.toContain('Revocations not verified');
    // The hostile principal and error are text in their cells, never markup.
    expect(attention!.html).not.toContain('<img');
    expect(attention!.html).not.toContain('<script');
    expect(attention!.html).toContain('&lt;img src=x onerror=alert(1)&gt; → acme/api');

    const events = await store.events.list(campaignId);
    expect(verifyChain(events).ok).toBe(true);
    const sent = events.filter((event) => event.type === 'email_sent');
    expect(sent.map((event) => event.data)).toEqual([
      { purpose: 'summary', to: 2, messageId: summary!.messageId },
      { purpose: 'needs_attention', to: 2, messageId: attention!.messageId },
    ]);
    const completed = events.filter((event) => event.type === 'campaign_completed');
    expect(completed).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('campaign_completed');
    // The final event counts the chain it closes, email_sent events included.
    expect((completed[0]!.data.counts as Record<string, number>).events).toBe(events.length - 1);
    // No address in the chain, the marker or a log line.
    expect(JSON.stringify(events)).not.toMatch(/@acme\.example/);
    const marker = await getItem(
      store.events.table,
      ...(Object.values(emailMarkerKey({ campaignId, purpose: 'summary' })) as [string, string]),
    );
    expect(marker).toMatchObject({
      sentAt: expect.any(String),
      messageId: summary!.messageId,
      recipients: 2,
      eventSeq: sent[0]!.seq,
    });
    expect(JSON.stringify(marker)).not.toMatch(/@/);
  });

  it('sends only the summary when nothing needs a person, and nothing at all with summary: false', async () => {
    const quiet = 'c-email-quiet';
    const [grantId] = await seedReviewTask(store, {
      campaignId: quiet,
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      principals: ['mallory'],
      entitlement: 'read',
    });
    await store.decisions.record({
      campaignId: quiet,
      grantId: grantId!,
      decision: 'keep',
      reviewer: 'alice',
      decidedBySlackUserId: 'U0ALICE01',
      decidedAt: at(),
      channel: 'slack',
    });
    await store.tasks.countDecision(quiet, 'alice', 'keep');
    await store.tasks.close(quiet, 'alice', 'completed', new Date());
    for (const status of ['revoking', 'verifying'] as const) await store.campaigns.advance(quiet, status);
    await finalizeCampaign({ campaignId: quiet }, services());
    const mail = await ses.emails();
    expect(mail.map((email) => email.subject)).toEqual([`access-review: campaign ${quiet} completed`]);
    expect(mail[0]!.text).toContain('Nothing needs a person.');
    expect(mail[0]!.text).toContain('No end-of-window policy decision');

    const off = 'c-email-off';
    await seedCampaign(off);
    const silent = parseConfig({
      ...(JSON.parse(JSON.stringify(config)) as Record<string, unknown>),
      notifications: { email: { from: FROM, to: TO, summary: false } },
    });
    ses.clear();
    await finalizeCampaign({ campaignId: off }, services({ config: silent }));
    expect(await ses.emails()).toEqual([]);
    expect((await store.events.list(off)).some((event) => event.type === 'email_sent')).toBe(false);
  });

  it('throws SES throttling so the workflow retries Finalize, and the retry sends only what is missing', async () => {
    const campaignId = 'c-email-throttled';
    await seedCampaign(campaignId);
    // The summary goes through; "needs attention" is throttled.
    const first = services();
    const sender = first.email!;
    let sends = 0;
    const flaky = {
      async send(email: Parameters<typeof sender.send>[0]) {
        sends++;
        if (sends === 2) ses.failNext(SES_FAULTS.throttled);
        return sender.send(email);
      },
    };
    await expect(finalizeCampaign({ campaignId }, services({ email: flaky }))).rejects.toBeInstanceOf(
      ThrottledError,
    );
    expect((await ses.emails()).map((email) => email.subject)).toEqual([
      `access-review: campaign ${campaignId} completed`,
    ]);
    expect((await store.events.list(campaignId)).some((event) => event.type === 'campaign_completed')).toBe(
      false,
    );

    await finalizeCampaign({ campaignId }, services());
    expect((await ses.emails()).map((email) => email.subject)).toEqual([
      `access-review: campaign ${campaignId} completed`,
      `access-review: campaign ${campaignId} needs attention`,
    ]);
    const types = (await store.events.list(campaignId)).map((event) => event.type);
    expect(types.filter((type) => type === 'email_sent')).toHaveLength(2);
    expect(types.at(-1)).toBe('campaign_completed');
  });

  it('closes the campaign without the email when SES refuses the identity, and says so', async () => {
    const campaignId = 'c-email-identity';
    await seedCampaign(campaignId);
    const errors: Array<Record<string, unknown> | undefined> = [];
    const unverified = sesEmailSender(
      { ...config.notifications!.email!, from: 'access-review@other.example', endpoint: ses.endpoint },
      ses.clientConfig,
    );
    const summary = await finalizeCampaign(
      { campaignId },
      services({
        email: unverified,
        log: {
          info: () => undefined,
          warn: () => undefined,
          error: (_message, fields) => errors.push(fields),
        },
      }),
    );
    expect(summary.status).toBe('completed');
    expect(await ses.emails()).toEqual([]);
    expect(errors.map((fields) => [fields?.purpose, fields?.error])).toEqual([
      ['summary', 'EmailIdentityError'],
      ['needs_attention', 'EmailIdentityError'],
    ]);
    expect(JSON.stringify(errors)).not.toMatch(/@/);
    expect((await store.events.list(campaignId)).some((event) => event.type === 'email_sent')).toBe(false);
  });

  it('ends a cancelled campaign as cancelled, says who cancelled it and that nothing was revoked', async () => {
    const campaignId = 'c-email-cancelled';
    const [kept, revoked] = await seedReviewTask(store, {
      campaignId,
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      principals: ['mallory', 'trent'],
      entitlement: 'admin',
    });
    await store.decisions.record({
      campaignId,
      grantId: revoked!,
      decision: 'revoke',
      reviewer: 'alice',
      decidedBySlackUserId: 'U0ALICE01',
      decidedAt: at(),
      channel: 'slack',
    });
    await store.tasks.countDecision(campaignId, 'alice', 'revoke');
    const cancelledAt = new Date();
    const cancellation = {
      by: 'U0SECTEAM1',
      byName: 'sam <security>',
      reason: 'wrong scope',
      phase: 'in_review' as const,
      at: cancelledAt.toISOString(),
    };
    expect((await store.campaigns.cancel(campaignId, cancellation)).cancelled).toBe(true);
    await store.events.append(campaignId, 'campaign_cancelled', { ...cancellation }, cancelledAt);
    await store.tasks.close(campaignId, 'alice', 'cancelled', cancelledAt);

    await finalizeCampaign({ campaignId }, services());

    const mail = await ses.emails();
    // Nothing needs a person: the grants a cancel leaves undecided are the cancel's doing.
    expect(mail.map((email) => email.subject)).toEqual([`access-review: campaign ${campaignId} cancelled`]);
    const text = mail[0]!.text!;
    expect(text).toContain(
      `This campaign was cancelled by sam <security> (U0SECTEAM1) at ${cancellation.at}: wrong scope. A cancelled campaign revokes nothing`,
    );
    expect(text).toMatch(/Status:\s+cancelled\n/);
    expect(text).toContain('None: the campaign was cancelled before any revocation.');
    expect(text).toContain('  - alice | 1 of 2 | cancelled');
    expect(mail[0]!.html).toContain('sam &lt;security&gt; (U0SECTEAM1)');
    const events = await store.events.list(campaignId);
    const completed = events.at(-1)!;
    expect(completed.type).toBe('campaign_completed');
    expect(completed.data).toMatchObject({ status: 'cancelled', cancelledBy: 'U0SECTEAM1' });
    expect(events.some((event) => event.type.startsWith('revocation_'))).toBe(false);
    expect(kept).toBeDefined();
  });
});
