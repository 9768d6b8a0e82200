import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedHost, startEmbeddedHost } from '../../lib/local/host';
import { parseScenario } from '../../sandbox/scenario';

/**
 * The embedded host has no EventBridge rule: when a run fails it notifies the security team the way
 * the notify-failure Lambda does on AWS. GitHub refuses the token (401) during the snapshot; the run
 * ends failed, the campaign says so, and the notice is sent to the configured channel (which this
 * workspace does not have, so Slack's refusal is what the host reports, rather than a silence).
 */
const { scenario, config } = parseScenario({
  description: 'GitHub refuses the token',
  organization: {
    login: 'acme',
    viewer: 'access-review-bot',
    members: [
      { login: 'alice', role: 'owner', email: 'alice@acme.example' },
      { login: 'access-review-bot', role: 'owner' },
    ],
    repositories: [{ name: 'api', collaborators: { alice: 'admin' } }],
  },
  slack: { users: [{ id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' }] },
  reviewers: {},
  config: {
    github: { organization: 'acme' },
    routing: { fallbackReviewers: ['alice'] },
    notifications: { slackChannel: 'C0ALERTS01' },
  },
});

let host: EmbeddedHost;
let failure: unknown;
const progress: string[] = [];

beforeAll(async () => {
  host = await startEmbeddedHost({
    scenario,
    config,
    reviewWindowSeconds: 4,
    reviewerThinkMs: 0,
    onProgress: (line) => progress.push(line),
  });
  host.github.failNext({
    status: 401,
    times: 1_000,
    body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' },
  });
  failure = await host.runCampaign({ trigger: 'test', requestedBy: 'vitest' }).then(
    () => undefined,
    (error: unknown) => error,
  );
}, 180_000);

afterAll(async () => {
  await host?.close();
});

describe('a run that fails on the embedded host', () => {
  it('ends failed with the campaign recorded as failed for authentication', async () => {
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/the workflow failed/);
    const campaigns = await host.store.campaigns.list();
    expect(campaigns.map((campaign) => campaign.status)).toEqual(['failed']);
    const events = await host.store.events.list(campaigns[0]!.campaignId);
    const failed = events.filter((event) => event.type === 'campaign_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ state: 'Snapshot', classification: 'authentication' });
  });

  it('sends the failure notice to the configured channel and reports what Slack answered', () => {
    const posts = host.slack
      .calls()
      .filter((call) => call.method === 'chat.postMessage' && call.args.channel === 'C0ALERTS01');
    expect(posts.map((call) => [call.ok, call.error])).toEqual([[false, 'channel_not_found']]);
    expect(progress.some((line) => line.startsWith('⚠ failure notice not sent'))).toBe(true);
  });
});
