import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeCampaign } from '../../../functions/evidence/summary';
import { startCampaign } from '../../../functions/steps/start-campaign';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { startTestStore, testServices } from '../../support/local-store';

/** What StartCampaign records of an ad-hoc campaign is what its evidence (summary.json) says. */
let dynamo: LocalDynamo;
let store: Store;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('scoped-evidence'));
});
afterAll(async () => dynamo?.close());

describe('a scoped campaign’s evidence', () => {
  it('names its scope and reason; the quarterly one everything and no reason', async () => {
    const services = testServices(store);
    const scoped = await startCampaign(
      {
        executionName: 'adhoc',
        trigger: 'manual',
        requestedBy: 'erin',
        scope: ['repo:acme/api', 'user:carol'],
        reason: 'contractor offboarding (INC-42)',
      },
      services,
    );
    expect(await summarizeCampaign(store, scoped.campaignId)).toMatchObject({
      scope: ['repo:acme/api', 'user:carol'],
      reason: 'contractor offboarding (INC-42)',
    });
    const quarterly = await startCampaign(
      { executionName: 'quarterly', trigger: 'schedule', requestedBy: 'schedule' },
      services,
    );
    expect(await summarizeCampaign(store, quarterly.campaignId)).toMatchObject({ scope: [], reason: null });
  });
});
