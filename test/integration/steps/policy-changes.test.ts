import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckResult,
  type Connector,
  connectorRegistry,
  type PolicyChange,
} from '../../../functions/connectors/connector';
import { makeGrant } from '../../../functions/core/grant';
import { exportEvidence } from '../../../functions/evidence/export';
import { verifyEvidence } from '../../../functions/evidence/verify';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { finalizeCampaign } from '../../../functions/steps/finalize';
import { verifyRevocations } from '../../../functions/steps/verify-revocations';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { passGuard } from '../../support/guard';
import { campaignDecidedToRevoke, startTestStore, testServices } from '../../support/local-store';

/** These campaigns are built through the store API, unsigned: what is checked here is not the anchor. */
const UNSIGNED = { allowUnsigned: true } as const;

/*
 * A revocation that edits a policy records the exact documents before and after, with their
 * SHA-256, in the chain and in the evidence; verify-evidence re-hashes them and compares them with
 * the chain, so an edited, dropped or invented document is found.
 */
let dynamo: LocalDynamo;
let store: Store;
let dir: string;

const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/payments/stripe-AbC123';
const grant = makeGrant(
  {
    connector: 'aws',
    grantKind: 'secret_read',
    resourceType: 'aws_secret',
    resource: SECRET,
    principalType: 'iam_role',
    principal: 'arn:aws:iam::444455556666:role/partner-batch',
    entitlement: 'read',
    via: { kind: 'resource_policy' },
  },
  { raw: { secretName: 'prod/payments/stripe' }, flags: ['cross_account'] },
);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const before = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: {
        AWS: ['arn:aws:iam::444455556666:role/partner-batch', 'arn:aws:iam::111122223333:role/api'],
      },
      Action: 'secretsmanager:GetSecretValue',
      Resource: '*',
    },
  ],
});
const after = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: ['arn:aws:iam::111122223333:role/api'] },
      Action: 'secretsmanager:GetSecretValue',
      Resource: '*',
    },
  ],
});
const change: PolicyChange = {
  policy: `${SECRET} resource policy`,
  before,
  after,
  beforeSha256: sha(before),
  afterSha256: sha(after),
};

function awsConnector(state: { readable: boolean }): Connector {
  return {
    name: 'aws',
    async *snapshot() {
      if (state.readable) yield grant;
    },
    async revoke() {
      state.readable = false;
      return {
        outcome: 'removed',
        appliedAt: new Date().toISOString(),
        action: `removed ${grant.principal} from the resource policy of prod/payments/stripe`,
        policyChanges: [change],
      };
    },
    async check(): Promise<CheckResult> {
      return {
        status: state.readable ? 'present' : 'absent',
        checkedAt: new Date().toISOString(),
        paths: [],
      };
    },
    usage: () => ({ requests: {}, points: {} }),
  };
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('policy-changes'));
  dir = await mkdtemp(join(tmpdir(), 'policy-changes-'));
  const services = testServices(store, {
    connectors: connectorRegistry({ aws: async () => awsConnector({ readable: true }) }),
  });
  await campaignDecidedToRevoke(store, services, 'c-pol', grant.grantId);
  await passGuard(store, services, 'c-pol');
  await applyRevocations({ campaignId: 'c-pol' }, services);
  await verifyRevocations({ campaignId: 'c-pol' }, services);
  await finalizeCampaign({ campaignId: 'c-pol' }, services);
});

afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh export with `edit` applied to one file and the manifest re-hashed, as a forger would. */
async function tampered(name: string, edit: (text: string) => string): Promise<string[]> {
  const out = await mkdtemp(join(dir, 'case-'));
  const manifest = await exportEvidence(store, 'c-pol', out);
  const text = edit(await readFile(join(out, name), 'utf8'));
  await writeFile(join(out, name), text);
  const entry = manifest.files.find((file) => file.name === name);
  if (entry) entry.sha256 = sha(text);
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest));
  return (await verifyEvidence(out, UNSIGNED)).findings;
}

describe('policy changes', () => {
  it('are recorded on the revocation and in its event, exactly', async () => {
    expect((await store.outcomes.getRevocation('c-pol', grant.grantId))?.policyChanges).toEqual([change]);
    const event = await store.events.findFirst('c-pol', 'revocation_applied');
    expect(event?.data.policyChanges).toEqual([change]);
  });

  it('are exported with their documents and pass verification untouched', async () => {
    const out = await mkdtemp(join(dir, 'clean-'));
    await exportEvidence(store, 'c-pol', out);
    const lines = (await readFile(join(out, 'policy-changes.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ grantId: grant.grantId, before, after, afterSha256: sha(after) }),
    ]);
    expect(await readFile(join(out, 'revocations.csv'), 'utf8')).toContain(
      `${SECRET} resource policy sha256:${sha(before)}→${sha(after)}`,
    );
    expect(await verifyEvidence(out, UNSIGNED)).toMatchObject({ ok: true, findings: [] });
  });

  it('find a document edited after the fact', async () => {
    const findings = await tampered('policy-changes.jsonl', (text) =>
      text.replace('arn:aws:iam::111122223333:role/api', 'arn:aws:iam::111122223333:role/other'),
    );
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/line 1 .*the after document does not hash to/),
        expect.stringMatching(/line 1 .* is not a change the chain records/),
      ]),
    );
  });

  it('find a document re-hashed consistently but not the one the chain records', async () => {
    const findings = await tampered('policy-changes.jsonl', (text) => {
      const line = JSON.parse(text) as PolicyChange;
      const forged = after.replace('role/api', 'role/other');
      return `${JSON.stringify({ ...line, after: forged, afterSha256: sha(forged) })}\n`;
    });
    expect(findings).toEqual([
      expect.stringMatching(/is not a change the chain records/),
      expect.stringMatching(/has no line/),
    ]);
  });

  it('find a dropped line and a revocations.csv that names other hashes', async () => {
    expect(await tampered('policy-changes.jsonl', () => '')).toEqual([
      `policy-changes.jsonl: a policy change the chain records for grant ${grant.grantId} has no line`,
    ]);
    expect(await tampered('revocations.csv', (text) => text.replace(sha(after), sha(before)))).toEqual([
      `revocations.csv: ${grant.grantId} shows policy changes the chain does not record`,
    ]);
  });

  it('keeps the planned documents when an attempt was cut off after the source changed', async () => {
    const state = { readable: true, plans: 0 };
    const connector: Connector = {
      ...awsConnector(state),
      async plan() {
        state.plans++;
        return [change];
      },
      async revoke() {
        // The first attempt's write reached AWS: nothing is left to remove.
        return {
          outcome: 'already_absent',
          appliedAt: new Date().toISOString(),
          action: `${grant.principal} is not in the resource policy of prod/payments/stripe`,
        };
      },
    };
    const services = testServices(store, { connectors: connectorRegistry({ aws: async () => connector }) });
    await campaignDecidedToRevoke(store, services, 'c-cut', grant.grantId);
    // What the first attempt left before it was cut off: the pending record and its plan.
    await store.outcomes.beginRevocation('c-cut', grant.grantId, new Date().toISOString());
    await store.outcomes.recordPlan('c-cut', grant.grantId, [change]);
    await passGuard(store, services, 'c-cut');
    await applyRevocations({ campaignId: 'c-cut' }, services);
    const revocation = await store.outcomes.getRevocation('c-cut', grant.grantId);
    expect(revocation).toMatchObject({
      status: 'already_absent',
      interrupted: true,
      policyChanges: [change],
    });
    expect(revocation?.action).toMatch(
      /policy documents it no longer found to change are those the first attempt planned to write/,
    );
    expect((await store.events.findFirst('c-cut', 'revocation_applied'))?.data.policyChanges).toEqual([
      change,
    ]);
    // The retry does not plan again: the first plan is what was written.
    expect(state.plans).toBe(0);
  });

  it("records the plan before it revokes, and the connector's own report after", async () => {
    const state = { readable: true, plans: 0 };
    const order: string[] = [];
    const base = awsConnector(state);
    const connector: Connector = {
      ...base,
      async plan() {
        order.push('plan');
        return [change];
      },
      async revoke(g) {
        const pending = await store.outcomes.getRevocation('c-plan', grant.grantId);
        order.push(`revoke (plan recorded: ${pending?.plannedPolicyChanges?.length ?? 0})`);
        return base.revoke(g);
      },
    };
    const services = testServices(store, { connectors: connectorRegistry({ aws: async () => connector }) });
    await campaignDecidedToRevoke(store, services, 'c-plan', grant.grantId);
    await passGuard(store, services, 'c-plan');
    await applyRevocations({ campaignId: 'c-plan' }, services);
    expect(order).toEqual(['plan', 'revoke (plan recorded: 1)']);
    expect((await store.outcomes.getRevocation('c-plan', grant.grantId))?.action).not.toMatch(/planned/);
  });

  it('keeps what a cut-off attempt wrote of its plan beside what the retry still had to write', async () => {
    const deleted: PolicyChange = {
      policy: 'arn:aws:iam::111122223333:policy/ReadPayments version v2',
      before: before,
      after: null,
      beforeSha256: sha(before),
      afterSha256: null,
    };
    const created: PolicyChange = { ...change, policy: 'arn:aws:iam::111122223333:policy/ReadPayments' };
    const state = { readable: true, plans: 0 };
    const connector: Connector = {
      ...awsConnector(state),
      async plan() {
        state.plans++;
        return [deleted, created];
      },
      // The version was deleted before the cut; the new version is still to be written.
      async revoke() {
        return {
          outcome: 'removed',
          appliedAt: new Date().toISOString(),
          action: 'created the new default version',
          policyChanges: [created],
        };
      },
    };
    const services = testServices(store, { connectors: connectorRegistry({ aws: async () => connector }) });
    await campaignDecidedToRevoke(store, services, 'c-half', grant.grantId);
    await store.outcomes.beginRevocation('c-half', grant.grantId, new Date().toISOString());
    await store.outcomes.recordPlan('c-half', grant.grantId, [deleted, created]);
    await passGuard(store, services, 'c-half');
    await applyRevocations({ campaignId: 'c-half' }, services);
    expect((await store.outcomes.getRevocation('c-half', grant.grantId))?.policyChanges).toEqual([
      deleted,
      created,
    ]);
    expect(state.plans).toBe(0);
  });

  it('plans on the retry when the first attempt stopped before it had a plan', async () => {
    const state = { readable: true, plans: 0 };
    const base = awsConnector(state);
    const connector: Connector = {
      ...base,
      async plan() {
        state.plans++;
        return [change];
      },
    };
    const services = testServices(store, { connectors: connectorRegistry({ aws: async () => connector }) });
    await campaignDecidedToRevoke(store, services, 'c-noplan', grant.grantId);
    // The first attempt got as far as its pending record (planning then failed, say).
    await store.outcomes.beginRevocation('c-noplan', grant.grantId, new Date().toISOString());
    await passGuard(store, services, 'c-noplan');
    await applyRevocations({ campaignId: 'c-noplan' }, services);
    expect(state.plans).toBe(1);
    const revocation = await store.outcomes.getRevocation('c-noplan', grant.grantId);
    expect(revocation).toMatchObject({ status: 'removed', interrupted: true, policyChanges: [change] });
    expect(revocation?.action).not.toMatch(/planned/);
  });
});
