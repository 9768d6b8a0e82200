import { makeGrant } from '../../functions/core/grant';
import type { Store } from '../../functions/store/index';
import { createTestCampaign } from './local-store';

/**
 * A campaign as AssignReviewers leaves it: in review, with one pending task for `reviewer` over
 * direct `entitlement` grants of `principals` on acme/api. Returns the grant ids in order.
 */
export async function seedReviewTask(
  store: Store,
  options: {
    campaignId: string;
    reviewer: string;
    slackUserId: string;
    principals: string[];
    entitlement: string;
    dueAt?: Date;
  },
): Promise<string[]> {
  const { campaignId, reviewer } = options;
  const now = new Date().toISOString();
  await createTestCampaign(store, campaignId, 'in_review');
  const grants = options.principals.map((principal) =>
    makeGrant({
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal,
      entitlement: options.entitlement,
      via: { kind: 'direct' },
    }),
  );
  await store.grants.putMany(grants.map((grant) => ({ ...grant, campaignId, snapshotAt: now })));
  for (const grant of grants)
    await store.grants.assign(campaignId, grant.grantId, reviewer, 'fallback reviewer');
  await store.tasks.create({
    campaignId,
    reviewer,
    slackUserId: options.slackUserId,
    grantCount: grants.length,
    status: 'pending',
    dueAt: (options.dueAt ?? new Date(Date.now() + 3_600_000)).toISOString(),
  });
  return grants.map((grant) => grant.grantId);
}
