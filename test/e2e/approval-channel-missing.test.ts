import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CampaignRun, type EmbeddedHost, startEmbeddedHost } from '../../lib/local/host';
import { parseScenario } from '../../sandbox/scenario';

/**
 * `revocationGuard.channel` names a channel Slack does not have: RequestRevocationApproval cannot
 * post, fails with a name the workflow's Catch handles (not retried: asking again will not help),
 * and RejectHeldRevocations rejects the held revocation and records why, through the synthesized
 * state machine on the embedded host. The rest of the campaign goes on.
 */
const { scenario, config } = parseScenario({
  description: 'approval channel that does not exist',
  organization: {
    login: 'acme',
    viewer: 'access-review-bot',
    members: [
      { login: 'alice', role: 'owner', email: 'alice@acme.example' },
      { login: 'access-review-bot', role: 'owner' },
      { login: 'carol', email: 'carol@acme.example' },
      { login: 'erin', email: 'erin@acme.example' },
      { login: 'bob', email: 'bob@acme.example' },
    ],
    repositories: [{ name: 'api', collaborators: { bob: 'write' } }],
  },
  slack: {
    users: [
      { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
      { id: 'U0CAROL01', name: 'carol', email: 'carol@acme.example' },
      { id: 'U0ERIN001', name: 'erin', email: 'erin@acme.example' },
      { id: 'U0BOB0001', name: 'bob', email: 'bob@acme.example' },
    ],
  },
  reviewers: { erin: { default: 'keep', revoke: [{ principal: 'carol' }] } },
  securityTeam: { bob: 'approve' },
  config: {
    github: { organization: 'acme' },
    routing: {
      owners: [{ resource: 'acme', resourceType: 'organization', reviewer: 'erin' }],
      fallbackReviewers: ['erin'],
    },
    // A percent limit of 0 holds every revocation.
    revocationGuard: { approvers: ['bob'], maxRevokedPercent: 0, channel: 'C0NOSUCH01' },
  },
});

let host: EmbeddedHost;
let run: CampaignRun;
const progress: string[] = [];

beforeAll(async () => {
  host = await startEmbeddedHost({
    scenario,
    config,
    reviewWindowSeconds: 4,
    reviewerThinkMs: 0,
    onProgress: (line) => progress.push(line),
  });
  run = await host.runCampaign({ trigger: 'test', requestedBy: 'vitest' });
}, 120_000);

afterAll(async () => {
  await host?.close();
});

describe('an approval channel Slack does not have', () => {
  it('fails the request, and the workflow rejects the held revocation saying why', async () => {
    const posts = host.slack
      .calls()
      .filter((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0NOSUCH01');
    // Once: the failure is not one the workflow retries.
    expect(posts.map((c) => [c.ok, c.error])).toEqual([[false, 'channel_not_found']]);
    expect(host.slack.messages('C0NOSUCH01')).toEqual([]);
    // Nobody got the request by DM instead.
    const bobsDm = host.slack.messages(host.slack.dmChannelFor('U0BOB0001'));
    expect(bobsDm.filter((m) => m.text.includes("held for the security team's approval"))).toEqual([]);

    expect(progress).toContain(
      '⚠ RequestRevocationApproval: ApprovalRequestNotSentError (handled by the workflow)',
    );
    expect(progress).toContain('▶ RejectHeldRevocations');
    expect(run.summary).toMatchObject({
      revoked: 1,
      revocationsHeld: 1,
      revocationsRejected: 1,
      revocationsApplied: 0,
      chainIntact: true,
    });
    expect(run.summary.revocationGuard?.approval).toMatchObject({
      status: 'expired',
      reason:
        'the approval request failed (ApprovalRequestNotSentError: Slack refused the approval request to C0NOSUCH01: channel_not_found)',
    });
    const events = await host.store.events.list(run.campaignId);
    const expired = events.filter((e) => e.type === 'revocation_batch_expired');
    expect(expired).toHaveLength(1);
    expect(String(expired[0]?.data.cause)).toContain('channel_not_found');
    expect(events.map((e) => e.type)).not.toContain('revocation_approval_requested');
    // carol keeps her access: a held revocation nobody could be asked about is not applied.
    expect([...host.github.state.members.keys()].map(String)).toContain('carol');
  });
});
