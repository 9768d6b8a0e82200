import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, type Connector, connectorRegistry } from '../../../functions/connectors/connector';
import { appInstallationKey } from '../../../functions/connectors/github/keys';
import { ConnectorError } from '../../../functions/core/errors';
import { makeGrant } from '../../../functions/core/grant';
import { summarizeCampaign } from '../../../functions/evidence/summary';
import type { Services } from '../../../functions/runtime/services';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import { verifyRevocations } from '../../../functions/steps/verify-revocations';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { renderSummary } from '../../../lib/local/report';
import { passGuard } from '../../support/guard';
import {
  campaignDecidedToRevoke,
  createTestCampaign,
  startTestStore,
  testServices,
} from '../../support/local-store';

/*
 * Access no API can remove: the revoke decision becomes a remediation item that says what a person
 * must do, the verify step keeps reading the source, and the next campaign checks it again and flags
 * the grant while it is still there. Nothing is silently skipped.
 */
let dynamo: LocalDynamo;
let store: Store;

const app = makeGrant(appInstallationKey('acme', 'dependency-scanner', { contents: 'read' }), {
  raw: { installationId: 7 },
});
const REMEDIATION = 'An org owner uninstalls dependency-scanner in Settings → GitHub Apps';

function appConnector(state: {
  installed: boolean;
  revokes: number;
  checks: number;
  refuse?: boolean;
}): Connector {
  return {
    name: 'github',
    async *snapshot() {
      if (state.installed) yield app;
    },
    async revoke() {
      state.revokes++;
      return {
        outcome: 'remediation_required',
        appliedAt: new Date().toISOString(),
        action: 'no API uninstalls an app for an organisation',
        remediation: REMEDIATION,
      };
    },
    async check(): Promise<CheckResult> {
      state.checks++;
      if (state.refuse)
        throw new ConnectorError(
          'GitHub GET /orgs/acme/installations failed with 403: Resource not accessible',
        );
      const checkedAt = new Date().toISOString();
      return state.installed
        ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'contents:read' }] }
        : { status: 'absent', checkedAt };
    },
    usage: () => ({ requests: { core: state.checks }, points: { core: state.checks } }),
  };
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('remediation'));
});

afterAll(async () => {
  await dynamo?.close();
});

async function reviewedCampaign(campaignId: string, startedAt: Date, services: Services) {
  await campaignDecidedToRevoke(store, services, campaignId, app.grantId, startedAt);
  await passGuard(store, services, campaignId);
  const applied = await applyRevocations({ campaignId }, services);
  const verified = await verifyRevocations({ campaignId }, services);
  await store.campaigns.advance(campaignId, 'completed');
  return { applied, verified };
}

describe('remediation items', () => {
  it('records what a person must do, keeps checking, and follows up at the next campaign', async () => {
    const state = { installed: true, revokes: 0, checks: 0 };
    const services = testServices(store, {
      connectors: connectorRegistry({ github: async () => appConnector(state) }),
    });
    const first = await reviewedCampaign('c-rem-1', new Date('2026-01-01T09:00:00Z'), services);
    expect(first.applied).toMatchObject({ requested: 1, removed: 0, remediationRequired: 1, failed: 0 });
    expect(first.verified).toMatchObject({ checked: 1, stillPresent: 1 });
    const revocation = await store.outcomes.getRevocation('c-rem-1', app.grantId);
    expect(revocation).toMatchObject({ status: 'remediation_required', remediation: REMEDIATION });
    const applied = await store.events.findFirst('c-rem-1', 'revocation_applied');
    expect(applied?.data).toMatchObject({ status: 'remediation_required', remediation: REMEDIATION });

    // Next quarter, still installed: rechecked, recorded, and the new grant carries the flag.
    await createTestCampaign(store, 'c-rem-2', 'snapshotting', new Date('2026-04-01T09:00:00Z'));
    await takeSnapshot({ campaignId: 'c-rem-2' }, services);
    const recheck = await store.events.findFirst('c-rem-2', 'remediations_rechecked');
    expect(recheck?.data.items).toEqual([
      expect.objectContaining({ grantId: app.grantId, fromCampaign: 'c-rem-1', status: 'present' }),
    ]);
    expect((await store.grants.get('c-rem-2', app.grantId))?.flags).toEqual(['open_remediation']);
    const snapshot = await store.events.findFirst('c-rem-2', 'snapshot_taken');
    expect(snapshot?.data).toMatchObject({
      grantsByKind: { app_installation: 1 },
      usage: { github: expect.any(Object) },
    });
    // The connector had already answered checks; the snapshot records only what the snapshot spent.
    expect((await store.campaigns.get('c-rem-2')).sourceUsage?.github).toEqual({ requests: {}, points: {} });

    // A retried snapshot step takes the recorded answer instead of checking again.
    const checks = state.checks;
    await store.campaigns.advance('c-rem-2', 'assigning');
    await takeSnapshot({ campaignId: 'c-rem-2' }, services);
    expect(state.checks).toBe(checks);
    expect(state.revokes).toBe(1);
  });

  it('records a remediation done once the source no longer shows the access', async () => {
    const state = { installed: true, revokes: 0, checks: 0 };
    const services = testServices(store, {
      connectors: connectorRegistry({ github: async () => appConnector(state) }),
    });
    await reviewedCampaign('c-rem-3', new Date('2026-07-01T09:00:00Z'), services);
    state.installed = false;
    await createTestCampaign(store, 'c-rem-4', 'snapshotting', new Date('2026-10-01T09:00:00Z'));
    const snapshot = await takeSnapshot({ campaignId: 'c-rem-4' }, services);
    expect(snapshot.grantCount).toBe(0);
    const recheck = await store.events.findFirst('c-rem-4', 'remediations_rechecked');
    expect(recheck?.data.items).toEqual([
      expect.objectContaining({ grantId: app.grantId, fromCampaign: 'c-rem-3', status: 'absent' }),
    ]);
  });

  it('carries an open item through a campaign where nobody decided on the grant again', async () => {
    const state = { installed: true, revokes: 0, checks: 0 };
    const services = testServices(store, {
      connectors: connectorRegistry({ github: async () => appConnector(state) }),
    });
    await reviewedCampaign('c-rem-5', new Date('2027-01-01T09:00:00Z'), services);
    await createTestCampaign(store, 'c-rem-6', 'snapshotting', new Date('2027-04-01T09:00:00Z'));
    await takeSnapshot({ campaignId: 'c-rem-6' }, services);
    for (const status of ['in_review', 'revoking', 'verifying', 'completed'] as const) {
      await store.campaigns.advance('c-rem-6', status);
    }
    await createTestCampaign(store, 'c-rem-7', 'snapshotting', new Date('2027-07-01T09:00:00Z'));
    await takeSnapshot({ campaignId: 'c-rem-7' }, services);
    const recheck = await store.events.findFirst('c-rem-7', 'remediations_rechecked');
    expect(recheck?.data.items).toEqual([
      expect.objectContaining({
        grantId: app.grantId,
        fromCampaign: 'c-rem-5',
        status: 'present',
        remediation: REMEDIATION,
      }),
    ]);
  });

  it('records a refused recheck as an error, lets the snapshot go on, and checks it again next time', async () => {
    const state = { installed: true, revokes: 0, checks: 0, refuse: false };
    const services = testServices(store, {
      connectors: connectorRegistry({ github: async () => appConnector(state) }),
    });
    await reviewedCampaign('c-rem-8', new Date('2028-01-01T09:00:00Z'), services);
    state.refuse = true;
    await createTestCampaign(store, 'c-rem-9', 'snapshotting', new Date('2028-04-01T09:00:00Z'));
    state.installed = false; // the snapshot itself finds nothing, the recheck cannot tell
    await takeSnapshot({ campaignId: 'c-rem-9' }, services);
    const refused = await store.events.findFirst('c-rem-9', 'remediations_rechecked');
    expect(refused?.data.items).toEqual([
      expect.objectContaining({ grantId: app.grantId, status: 'error', error: expect.stringMatching(/403/) }),
    ]);
    // The run's report says so, with what the person was asked to do.
    const report = await renderSummary(store, await summarizeCampaign(store, 'c-rem-9'));
    expect(report).toMatch(
      /REMEDIATION from c-rem-8 could not be checked \(error: .*403.*\): dependency-scanner contents:read on acme: An org owner uninstalls/,
    );
    for (const status of ['in_review', 'revoking', 'verifying', 'completed'] as const) {
      await store.campaigns.advance('c-rem-9', status);
    }
    state.refuse = false;
    await createTestCampaign(store, 'c-rem-10', 'snapshotting', new Date('2028-07-01T09:00:00Z'));
    await takeSnapshot({ campaignId: 'c-rem-10' }, services);
    const later = await store.events.findFirst('c-rem-10', 'remediations_rechecked');
    expect(later?.data.items).toEqual([
      expect.objectContaining({ grantId: app.grantId, fromCampaign: 'c-rem-8', status: 'absent' }),
    ]);
  });
});
