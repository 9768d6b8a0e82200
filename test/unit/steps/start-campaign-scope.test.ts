import { describe, expect, it } from 'vitest';
import { classifyError, RETRYABLE_ERROR_NAMES } from '../../../functions/core/errors';
import { ScopeError } from '../../../functions/core/scope';
import {
  CampaignRequestError,
  checkCampaignRequest,
  startCampaign,
} from '../../../functions/steps/start-campaign';
import type { Store } from '../../../functions/store/index';
import { TEST_CONFIG, testServices } from '../../support/local-store';

/** The two calls StartCampaign makes, recorded; `create` keeps the first record like the table does. */
function recordingStore() {
  const created: Array<Record<string, unknown>> = [];
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const store = {
    campaigns: {
      create: async (campaign: Record<string, unknown>) => {
        const first = created.find((c) => c.campaignId === campaign.campaignId);
        if (first) return { created: false, campaign: first };
        created.push(campaign);
        return { created: true, campaign };
      },
    },
    events: {
      appendOnce: async (_campaignId: string, type: string, data: Record<string, unknown>) => {
        events.push({ type, data });
      },
    },
  } as unknown as Store;
  return { store, created, events };
}

async function refusal(run: () => Promise<unknown>): Promise<CampaignRequestError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(CampaignRequestError);
    return error as CampaignRequestError;
  }
  throw new Error('expected the request to be refused');
}

describe('StartCampaign: scope and reason', () => {
  it('records the scope and reason on the campaign and in campaign_started', async () => {
    const { store, created, events } = recordingStore();
    const progress: string[] = [];
    await startCampaign(
      {
        executionName: 'adhoc-1',
        trigger: 'manual',
        requestedBy: 'erin',
        scope: ['repo:acme/api', 'user:carol', 'repo:ACME/api'],
        reason: '  Incident INC-42:\n  contractor offboarding  ',
      },
      testServices(store, { progress: (line) => progress.push(line) }),
    );
    expect(created[0]).toMatchObject({
      scope: ['repo:acme/api', 'user:carol'],
      reason: 'Incident INC-42: contractor offboarding',
    });
    expect(events).toEqual([
      {
        type: 'campaign_started',
        data: expect.objectContaining({
          scope: ['repo:acme/api', 'user:carol'],
          reason: 'Incident INC-42: contractor offboarding',
          trigger: 'manual',
          requestedBy: 'erin',
        }),
      },
    ]);
    expect(progress[0]).toMatch(
      /started \(manual, requested by erin\); scope repo:acme\/api, user:carol; reason: Incident INC-42: contractor offboarding$/,
    );
  });

  it('the quarterly schedule records scope [] and reason null', async () => {
    const { store, created, events } = recordingStore();
    await startCampaign(
      { executionName: 'q', trigger: 'schedule', requestedBy: 'schedule' },
      testServices(store),
    );
    expect(created[0]).toMatchObject({ scope: [], reason: null });
    expect(events[0]!.data).toMatchObject({ scope: [], reason: null });
  });

  it('a retried step keeps what the first attempt recorded', async () => {
    const { store, events } = recordingStore();
    const services = testServices(store);
    const input = {
      executionName: 'same',
      trigger: 'manual',
      scope: ['team:acme/platform'],
      reason: 'audit',
    };
    await startCampaign(input, services);
    await startCampaign({ ...input, scope: ['user:carol'], reason: 'other' }, services);
    expect(events.map((e) => [e.data.scope, e.data.reason])).toEqual([
      [['team:acme/platform'], 'audit'],
      [['team:acme/platform'], 'audit'],
    ]);
  });

  it('refuses an ad-hoc or scoped campaign without a reason, and records nothing', async () => {
    const { store, created, events } = recordingStore();
    const services = testServices(store);
    const manual = await refusal(() => startCampaign({ executionName: 'a', trigger: 'manual' }, services));
    expect(manual.problems).toEqual(['reason: an ad-hoc campaign must say why it runs (--reason "…")']);
    const slack = await refusal(() =>
      startCampaign({ executionName: 'b', trigger: 'slack', reason: '   ' }, services),
    );
    expect(slack.problems).toEqual(['reason: an ad-hoc campaign must say why it runs (--reason "…")']);
    const scoped = await refusal(() =>
      startCampaign({ executionName: 'c', trigger: 'cli', scope: ['user:carol'] }, services),
    );
    expect(scoped.problems).toEqual(['reason: a scoped campaign must say why it runs (--reason "…")']);
    expect(created).toEqual([]);
    expect(events).toEqual([]);
  });

  it('names every bad term and the reason problem at once; the workflow does not retry it', async () => {
    const { store, created } = recordingStore();
    const error = await refusal(() =>
      startCampaign(
        {
          executionName: 'bad',
          trigger: 'manual',
          scope: ['repo:acme', 'kind:admin', 'user:carol'],
        },
        testServices(store),
      ),
    );
    expect(error.problems).toEqual([
      'scope "repo:acme": repo: expected <org>/<name>',
      expect.stringMatching(/^scope "kind:admin": kind: unknown grant kind "admin"/),
      'reason: an ad-hoc campaign must say why it runs (--reason "…")',
    ]);
    expect(error.cause).toBeInstanceOf(ScopeError);
    expect(error.name).toBe('CampaignRequestError');
    expect(RETRYABLE_ERROR_NAMES).not.toContain(error.name);
    expect(classifyError(error)).toBe('internal');
    expect(created).toEqual([]);
  });

  it('refuses terms this deployment cannot have: another organisation, a connector it does not read', () => {
    expect(() =>
      checkCampaignRequest({ scope: ['repo:other/api', 'connector:aws'], reason: 'x' }, TEST_CONFIG),
    ).toThrow(
      /scope repo:other\/api: not in organization acme[\s\S]*scope connector:aws: connector aws is not configured/,
    );
    // Without a configuration (the CLI) only the terms themselves are checked.
    expect(checkCampaignRequest({ scope: ['repo:other/api'], reason: 'x' }).scope.terms).toHaveLength(1);
  });

  it('refuses a scope that is not a list of strings, a reason that is not text or too long', () => {
    const problems = (input: Parameters<typeof checkCampaignRequest>[0]) => {
      try {
        checkCampaignRequest(input);
      } catch (error) {
        return (error as CampaignRequestError).problems;
      }
      return [];
    };
    expect(problems({ scope: 'repo:acme/api', reason: 'x' })).toEqual([
      'scope: must be a list of terms such as ["repo:acme/api", "user:carol"]',
    ]);
    expect(problems({ scope: [42], reason: 'x' })[0]).toMatch(/^scope: must be a list/);
    expect(problems({ reason: 7 })).toEqual(['reason: must be text']);
    expect(problems({ reason: 'x'.repeat(501) })).toEqual(['reason: 501 characters, at most 500']);
    expect(problems({ reason: 'bell\u0007' })).toEqual(['reason: contains control characters']);
    expect(problems({ reason: 'x'.repeat(500) })).toEqual([]);
  });
});
