import { fileURLToPath } from 'node:url';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsConnector } from '../../../functions/connectors/aws/index';
import { connectorRegistry, type SourceUsage } from '../../../functions/connectors/connector';
import { createGitHubConnector } from '../../../functions/connectors/github/index';
import type { AccessReviewConfig } from '../../../functions/core/config';
import { allHoldersOf, teamDirectoryOf } from '../../../functions/core/routing';
import { grantInScope, parseScope } from '../../../functions/core/scope';
import type { Services } from '../../../functions/runtime/services';
import { assignReviewers } from '../../../functions/steps/assign-reviewers';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import { startCampaign } from '../../../functions/steps/start-campaign';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { type GitHubSandbox, startGitHubSandbox } from '../../../sandbox/github/server';
import { loadScenarioFile } from '../../../sandbox/scenario';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, testServices } from '../../support/local-store';

/**
 * A scoped campaign on the bundled acme scenario, through the real connectors against the GitHub and
 * AWS sandboxes: it writes exactly the full snapshot's grants in scope, reads AWS only when the scope
 * can reach it, and routes its grants as safely as the full campaign does (nobody reviews access they
 * hold, though the team memberships that say so are outside the scope).
 */
const ACME = fileURLToPath(new URL('../../../sandbox/scenarios/acme.yaml', import.meta.url));
const TOKEN = 'ghs_scopedCampaignTest0123456789';
const BOT = 'xoxb-scoped-campaign-test';

let dynamo: LocalDynamo;
let store: Store;
let github: GitHubSandbox;
let aws: AwsSandbox;
let slack: SlackSandbox;
let services: Services;
let config: AccessReviewConfig;
const progress: string[] = [];

/** One campaign from StartCampaign through AssignReviewers, as the workflow runs them. */
async function campaign(
  executionName: string,
  input: { trigger: string; scope?: string[]; reason?: string },
): Promise<{ campaignId: string; usage: Record<string, SourceUsage> }> {
  const { campaignId } = await startCampaign({ executionName, requestedBy: 'vitest', ...input }, services);
  for (let output = await takeSnapshot({ campaignId }, services); !output.complete; ) {
    output = await takeSnapshot({ campaignId }, services);
  }
  await assignReviewers({ campaignId }, services);
  const taken = await store.events.findFirst(campaignId, 'snapshot_taken');
  return { campaignId, usage: taken?.data.usage as Record<string, SourceUsage> };
}

const total = (usage: SourceUsage | undefined) =>
  Object.values(usage?.requests ?? {}).reduce((sum, value) => sum + value, 0);

beforeAll(async () => {
  const { scenario, config: scenarioConfig } = await loadScenarioFile(ACME);
  ({ dynamo, store } = await startTestStore('scoped-campaign'));
  github = await startGitHubSandbox(scenario.organization, { token: TOKEN });
  aws = await startAwsSandbox(scenario.aws!);
  slack = await startSlackSandbox({ users: scenario.slack.users, botToken: BOT });
  config = {
    ...scenarioConfig,
    github: { ...scenarioConfig.github, apiUrl: github.url },
    aws: { ...scenarioConfig.aws!, endpoint: aws.url },
  };
  const slackClient = new WebClient(BOT, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  let clock = Date.parse('2026-10-01T09:00:00Z');
  services = testServices(store, {
    config,
    // Each campaign starts a minute after the one before (the context reads earlier campaigns).
    now: () => {
      clock += 1000;
      return new Date(clock);
    },
    slack: async () => slackClient,
    progress: (line) => progress.push(line),
    connectors: connectorRegistry({
      github: async () =>
        createGitHubConnector({
          organization: 'acme',
          token: TOKEN,
          baseUrl: github.url,
          throttle: { retryAfterBaseMs: 0, writeIntervalMs: 0, retries: 3 },
          warn: () => undefined,
        }),
      aws: async () =>
        createAwsConnector({
          config: config.aws!,
          credentials: aws.credentials,
          stsRegion: 'us-east-1',
          warn: () => undefined,
        }),
    }),
  });
});

afterAll(async () => {
  await Promise.all([github?.close(), aws?.close(), slack?.close()]);
  await dynamo?.close();
});

describe('a scoped campaign on the acme scenario', () => {
  let full: { campaignId: string; usage: Record<string, SourceUsage> };
  let repo: { campaignId: string; usage: Record<string, SourceUsage> };
  const scope = ['repo:acme/api'];

  beforeAll(async () => {
    full = await campaign('full', { trigger: 'test' });
    repo = await campaign('scoped-api', { trigger: 'manual', scope, reason: 'INC-42' });
  });

  it('writes and counts exactly the full snapshot’s grants in scope, and routes them safely', async () => {
    const scoped = repo;
    const everything = await store.grants.list(full.campaignId);
    const expected = everything.filter((g) => grantInScope(g, parseScope(scope), config));
    const written = await store.grants.list(scoped.campaignId);
    expect(written.map((g) => g.grantId).sort()).toEqual(expected.map((g) => g.grantId).sort());
    expect(written.length).toBeLessThan(everything.length);
    const record = await store.campaigns.get(scoped.campaignId);
    expect(record.counts).toMatchObject({
      grants: expected.length,
      reviewable: expected.filter((g) => g.reviewable).length,
    });
    expect(record.scope).toEqual(scope);
    expect(record.reason).toBe('INC-42');

    // Nobody reviews access they hold, by the whole organisation's facts: platform's members hold
    // platform's write on acme/api, and their memberships are not in this scope.
    const teams = teamDirectoryOf(everything);
    const platformAccess = written.find(
      (g) => g.grantKind === 'team_repository' && g.principal === 'acme/platform',
    );
    expect(platformAccess?.reviewer).toBeDefined();
    for (const grant of written.filter((g) => g.reviewable)) {
      const holders = allHoldersOf(grant, config, teams);
      expect(holders.has((grant.reviewer ?? '').toLowerCase()), `${grant.grantId} → ${grant.reviewer}`).toBe(
        false,
      );
    }
    // The same reviewer and reason as the whole campaign gave each grant.
    const byId = new Map(everything.map((g) => [g.grantId, g]));
    for (const grant of written.filter((g) => g.reviewable)) {
      expect([grant.reviewer, grant.routingReason]).toEqual([
        byId.get(grant.grantId)?.reviewer,
        byId.get(grant.grantId)?.routingReason,
      ]);
    }
  });

  it('reads AWS only when the scope can reach it; measured requests per connector', async () => {
    const team = await campaign('scoped-team', {
      trigger: 'manual',
      scope: ['team:acme/platform'],
      reason: 'm',
    });
    const figures = Object.fromEntries(
      Object.entries({ full, repo, team }).map(([name, run]) => [
        name,
        { github: total(run.usage.github), aws: total(run.usage.aws) },
      ]),
    );
    const written = Object.fromEntries(
      await Promise.all(
        Object.entries({ full, repo, team }).map(
          async ([name, run]) => [name, (await store.campaigns.get(run.campaignId)).counts] as const,
        ),
      ),
    );
    console.log(`grants written by scope: ${JSON.stringify(written)}`);
    console.log(`snapshot requests by scope: ${JSON.stringify(figures)}`);
    // A repository's OIDC subjects are AWS grants: the repository scope reads both, like the whole
    // one (AWS costs 2 STS calls fewer on a connector that already holds its role sessions).
    expect(figures.repo!.github).toBe(figures.full!.github);
    expect(figures.repo!.aws).toBeGreaterThan(0);
    // A team has no AWS grants: AWS is not read at all.
    expect(figures.team).toEqual({ github: figures.full!.github, aws: 0 });
    expect(Object.keys(team.usage)).toEqual(['github']);
  });
});
