import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, type Connector, connectorRegistry } from '../../../functions/connectors/connector';
import { teamMembershipKey } from '../../../functions/connectors/github/keys';
import { makeGrant } from '../../../functions/core/grant';
import { exportEvidence, type Manifest } from '../../../functions/evidence/export';
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
 * verify-evidence against forgeries that re-hash the files they touch (so the manifest's file
 * hashes still hold): each must still be found, by the check that exists for it. A campaign with
 * two grants: carol's team membership revoked (and confirmed gone), bob's kept.
 */
let dynamo: LocalDynamo;
let store: Store;
let dir: string;
const CAMPAIGN = 'c-verify-bite';

const carol = makeGrant(teamMembershipKey('acme', 'platform', 'carol', 'member'));
const bob = makeGrant(teamMembershipKey('acme', 'platform', 'bob', 'member'));

function teamConnector(members: Set<string>): Connector {
  return {
    name: 'github',
    async *snapshot() {
      yield carol;
      yield bob;
    },
    async revoke(grant) {
      members.delete(grant.principal);
      return {
        outcome: 'removed',
        appliedAt: new Date().toISOString(),
        action: `DELETE /orgs/acme/teams/platform/memberships/${grant.principal}: removed`,
      };
    },
    async check(grant): Promise<CheckResult> {
      const checkedAt = new Date().toISOString();
      return members.has(grant.principal)
        ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'member' }] }
        : { status: 'absent', checkedAt };
    },
    usage: () => ({ requests: {}, points: {} }),
  };
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A fresh export with `edit` applied to one file and the manifest re-hashed, as a forger would. */
async function forged(
  name: string,
  edit: (text: string) => string,
  editManifest: (manifest: Manifest) => void = () => undefined,
): Promise<string[]> {
  const out = await mkdtemp(join(dir, 'case-'));
  const manifest = await exportEvidence(store, CAMPAIGN, out);
  const text = edit(await readFile(join(out, name), 'utf8'));
  await writeFile(join(out, name), text);
  const entry = manifest.files.find((file) => file.name === name);
  if (entry) {
    entry.sha256 = sha(text);
    entry.bytes = Buffer.byteLength(text);
  }
  editManifest(manifest);
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest));
  return (await verifyEvidence(out, UNSIGNED)).findings;
}

/** Rewrites a CSV's rows (header kept), quoting as csv-stringify does. */
function editRows(edit: (rows: Record<string, string>[]) => Record<string, string>[]) {
  return (text: string) => {
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    const header = Object.keys(rows[0] ?? {});
    const edited = edit(rows);
    return stringify([header, ...edited.map((row) => header.map((column) => row[column] ?? ''))]);
  };
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('verify-bite'));
  dir = await mkdtemp(join(tmpdir(), 'verify-bite-'));
  const members = new Set(['carol', 'bob']);
  const services = testServices(store, {
    connectors: connectorRegistry({ github: async () => teamConnector(members) }),
  });
  await campaignDecidedToRevoke(store, services, CAMPAIGN, carol.grantId);
  await store.grants.assign(CAMPAIGN, bob.grantId, 'alice', 'owner of the resource');
  await store.decisions.record({
    campaignId: CAMPAIGN,
    grantId: bob.grantId,
    decision: 'keep',
    reviewer: 'alice',
    decidedBySlackUserId: 'U0ALICE01',
    decidedAt: new Date().toISOString(),
    justification: 'still on the team',
    channel: 'slack',
  });
  await passGuard(store, services, CAMPAIGN);
  await applyRevocations({ campaignId: CAMPAIGN }, services);
  await verifyRevocations({ campaignId: CAMPAIGN }, services);
  await finalizeCampaign({ campaignId: CAMPAIGN }, services);
});

afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('verify-evidence', () => {
  it('passes the evidence as exported, with both decisions and the revocation in the chain', async () => {
    const out = await mkdtemp(join(dir, 'clean-'));
    await exportEvidence(store, CAMPAIGN, out);
    // Built with the store API, not the workflow: no campaign_started or reviewers_assigned event,
    // so what those would anchor is said in notes, never passed silently.
    expect(await verifyEvidence(out, UNSIGNED)).toEqual({
      ok: true,
      findings: [],
      notes: [
        "grants.csv: the reviewer and routing_reason columns are not anchored in this campaign's chain (it has no reviewers_assigned event)",
        "summary.json: organization, trigger, requestedBy, reviewersAsked, reviewersCompleted, reviewersUnresponsive not anchored in this campaign's chain (it has no campaign_started event, no reviewers_assigned event)",
        "signatures.jsonl: no signature, and the chain predates signing (no assignment digest): nothing outside the table anchors this campaign's chain (accepted: --allow-unsigned)",
      ],
    });
    const events = await store.events.list(CAMPAIGN);
    const decided = events.filter((e) => e.type === 'decision_recorded').map((e) => e.data.grantId);
    expect(decided.sort()).toEqual([bob.grantId, carol.grantId].sort());
    const revocations = parse(await readFile(join(out, 'revocations.csv')), { columns: true }) as Record<
      string,
      string
    >[];
    expect(revocations.map((row) => [row.grant_id, row.verification])).toEqual([
      [carol.grantId, 'confirmed_absent'],
    ]);
  });

  it('finds a chain cut short (last event dropped, file re-hashed): its head is not the manifest head', async () => {
    const findings = await forged('events.jsonl', (text) => {
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      return `${lines.slice(0, -1).join('\n')}\n`;
    });
    expect(findings).toContain('events.jsonl: chain head differs from the manifest');
  });

  it('finds a manifest that names another chain head', async () => {
    const findings = await forged(
      'events.jsonl',
      (text) => text,
      (manifest) => {
        manifest.chainHead = sha('another chain');
      },
    );
    expect(findings).toEqual(['events.jsonl: chain head differs from the manifest']);
  });

  it('finds a grant decided in the chain whose row was dropped from decisions.csv', async () => {
    const seq = (await store.events.list(CAMPAIGN)).find(
      (e) => e.type === 'decision_recorded' && e.data.grantId === bob.grantId,
    )?.seq;
    expect(seq).toBeDefined();
    const findings = await forged(
      'decisions.csv',
      editRows((rows) => rows.filter((row) => row.grant_id !== bob.grantId)),
    );
    expect(findings).toEqual([
      `decisions.csv: no row for grant ${bob.grantId} decided in event ${seq}`,
      // The report is rendered from decisions.csv among others: it no longer matches.
      "report.html: not what the folder's files render",
    ]);
  });

  it('finds a revocation whose verification column says something the chain does not', async () => {
    for (const claim of ['still_present', 'not_verified']) {
      const findings = await forged(
        'revocations.csv',
        editRows((rows) =>
          rows.map((row) => (row.grant_id === carol.grantId ? { ...row, verification: claim } : row)),
        ),
      );
      expect(findings, claim).toEqual([
        `revocations.csv: ${carol.grantId} shows ${claim}, the chain says confirmed_absent`,
        "report.html: not what the folder's files render",
      ]);
    }
  });
});
