import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRANT_KINDS, viaLabel } from '../../functions/core/grant';
import { exportEvidence, type Manifest } from '../../functions/evidence/export';
import { verifyEvidence } from '../../functions/evidence/verify';
import { verifyChain } from '../../functions/store/events';
import type { StoredGrant } from '../../functions/store/grants';
import { HANDLERS } from '../../lib/aws/handlers';
import { type CampaignRun, type EmbeddedHost, startEmbeddedHost } from '../../lib/local/host';
import { renderSummary } from '../../lib/local/report';
import { repositoryCicd } from '../../sandbox/github/cicd/state';
import { loadScenarioFile } from '../../sandbox/scenario';
import type { ViewPayload } from '../../sandbox/slack/server';

/**
 * The bundled demo scenario, end to end on the embedded host: the synthesized state machine runs
 * every step, simulated reviewers click signed buttons, and the sandbox is read back. One run is
 * shared by every assertion (it lasts the scenario's local review window, dave never answering).
 */
let host: EmbeddedHost;
let run: CampaignRun;
let grants: StoredGrant[];
let evidenceDir: string;
/** An evidence folder nobody edits, for the checks that read it as exported. */
let pristineDir: string;
/** What `npm start` prints while the campaign runs (the host's progress lines). */
const transcript: string[] = [];
/** Every version of every message the reviewers saw (posted, then redrawn through response_url). */
const drawnMessages: Array<{ channel: string; blocks: string[] }> = [];
/** dave's App Home tab, opened while his review was still open. */
let daveHome: Promise<ViewPayload | undefined> | undefined;

const key = (g: StoredGrant) => `${g.principal} ${g.entitlement} ${g.resource} ${viaLabel(g.via)}`;
const DAVE = 'U0DAVE001';

beforeAll(async () => {
  const { scenario, config } = await loadScenarioFile('sandbox/scenarios/acme.yaml');
  host = await startEmbeddedHost({
    scenario,
    config,
    reviewWindowSeconds: scenario.localReviewWindowSeconds ?? 60,
    reviewerThinkMs: 0,
    onProgress: (line) => transcript.push(line),
  });
  host.slack.onMessage((event) => {
    if (event.kind === 'deleted') return;
    drawnMessages.push({
      channel: event.message.channel,
      blocks: (event.message.blocks ?? []).map((block) => JSON.stringify(block)),
    });
    // dave never answers, but he does look at the app's Home tab once his review arrives.
    if (!daveHome && event.kind === 'posted' && event.message.channel === host.slack.dmChannelFor(DAVE)) {
      daveHome = host.slack
        .openAppHome({ appUrl: host.slackEndpoint, signingSecret: host.signingSecret, userId: DAVE })
        .then(async (answer) => {
          expect(answer.status).toBe(200);
          const deadline = Date.now() + 10_000;
          while (!host.slack.homeOf(DAVE) && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 50));
          return host.slack.homeOf(DAVE);
        });
    }
  });
  run = await host.runCampaign({ trigger: 'test', requestedBy: 'vitest' });
  grants = await host.store.grants.list(run.campaignId);
  evidenceDir = await mkdtemp(join(tmpdir(), 'access-review-evidence-'));
  pristineDir = await mkdtemp(join(tmpdir(), 'access-review-pristine-'));
  await exportEvidence(host.store, run.campaignId, pristineDir);
}, 300_000);

afterAll(async () => {
  await host?.close();
  for (const dir of [evidenceDir, pristineDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** The manifest an attacker would write after editing files: every hash recomputed. */
async function exportManifestFor(dir: string, manifest: Manifest): Promise<Manifest> {
  const files = await Promise.all(
    manifest.files.map(async (file) => ({
      ...file,
      sha256: createHash('sha256')
        .update(await readFile(join(dir, file.name)))
        .digest('hex'),
    })),
  );
  return { ...manifest, files };
}

describe('demo campaign on the embedded host', () => {
  it('snapshots every grant in the scenario once, with the right source', () => {
    const keys = grants.map(key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(grants.map((g) => g.grantId)).size).toBe(grants.length);
    // 7 org memberships + 2 owner roles, 7 team memberships + 2 maintainer roles, 3 team repo
    // grants, 5 direct repo grants, 10 repo grants via teams (2 of them through the nested sre
    // team), and the org's base permission as one grant (read, for every member);
    // what the org gives (base read, owners' admin) is computed, not a row per member and repository; and the CI/CD surface:
    // 2 invitations, 2 deploy keys, 3 environment approvers, 5 branch protection allowances,
    // 4 ruleset bypass actors, 3 secret, 2 variable, 1 environment secret and 2 runner group
    // grants, 2 apps and 2 fine-grained tokens (worked out in test/integration/github/snapshot.test.ts).
    // AWS adds 22: 14 secret reads by path and 4 OIDC trusts to review, 4 reads the trusted
    // subjects get by assuming their role (listed in the AWS test below).
    expect(grants.filter((g) => g.connector === 'github')).toHaveLength(65);
    expect(grants.filter((g) => g.connector === 'github' && g.reviewable)).toHaveLength(55);
    expect(grants).toHaveLength(87);
    expect(grants.filter((g) => g.reviewable)).toHaveLength(73);
    const kinds = new Set(grants.map((g) => g.grantKind));
    expect([...kinds].sort()).toEqual([...GRANT_KINDS].sort());
    for (const expected of [
      'alice owner acme direct',
      'alice member acme direct',
      'frank owner acme direct',
      'frank member acme direct',
      'bob member acme direct',
      'alice maintainer acme/platform direct',
      'alice member acme/platform direct',
      'carol member acme/web direct',
      'acme/platform write acme/api direct',
      'acme/platform admin acme/infra direct',
      'carol write acme/api direct',
      'carol write acme/api team:acme/platform',
      'gina read acme/api direct',
      'bob admin acme/infra direct',
      'bob admin acme/infra team:acme/platform',
      'members read acme direct',
      'hank write acme/api team:acme/platform (through acme/sre)',
      'ivan security-auditor acme/api direct',
      'judy write acme/api direct',
      'kim@contractor.example member acme direct',
      'bob approve_deployments acme/api:production direct',
      'release-bot push acme/api:main direct',
      'acme/* read acme/secrets/NPM_TOKEN visibility:all',
      'acme/web use acme/runner-groups/deploy-runners direct',
    ]) {
      expect(keys).toContain(expected);
    }
    const gina = grants.find((g) => g.principal === 'gina')!;
    expect(gina.raw.outsideCollaborator).toBe(true);
    const viaTeam = grants.find((g) => key(g) === 'carol write acme/api team:acme/platform')!;
    expect(viaTeam.reviewable).toBe(false);
    expect(viaTeam.derivedFrom).toHaveLength(2);
  });

  it('never asks anyone to review their own access, and says why a fallback was used', () => {
    // hank is in sre, a child team of platform: he acts for platform too.
    const platform = new Set(['alice', 'bob', 'carol', 'hank']);
    const web = new Set(['dave', 'carol']);
    for (const grant of grants.filter((g) => g.reviewable)) {
      expect(grant.reviewer, key(grant)).toBeDefined();
      if (grant.principalType === 'user') expect(grant.reviewer).not.toBe(grant.principal);
      if (grant.holder) expect(grant.reviewer).not.toBe(grant.holder);
      if (grant.principal === 'acme/platform') expect(platform.has(grant.reviewer!)).toBe(false);
      if (grant.principal === 'acme/web') expect(web.has(grant.reviewer!)).toBe(false);
    }
    const bobInfra = grants.find((g) => key(g) === 'bob admin acme/infra direct')!;
    expect(bobInfra.reviewer).toBe('alice');
    expect(bobInfra.routingReason).toMatch(/bob \(owner of repository acme\/infra\) holds this access/);
    const aliceOwner = grants.find((g) => key(g) === 'alice owner acme direct')!;
    expect(aliceOwner.reviewer).toBe('erin');
  });

  it('sends each reviewer exactly one review message, and reminders in its thread', async () => {
    const tasks = await host.store.tasks.list(run.campaignId);
    expect(tasks.map((t) => t.reviewer).sort()).toEqual(['alice', 'bob', 'dave', 'erin']);
    const posts = host.slack.calls().filter((c) => c.method === 'chat.postMessage' && c.ok);
    // The revocation guard's request went to the security team (alice and erin) in their DMs too.
    const approvals = posts.filter((p) =>
      String(p.args.text).includes("held for the security team's approval"),
    );
    const channelOf = (login: string) => tasks.find((t) => t.reviewer === login)?.channelId;
    expect(approvals.map((p) => p.args.channel).sort()).toEqual(
      [channelOf('alice'), channelOf('erin')].sort(),
    );
    // One review message per task; reminders and hand-over notes are replies in its thread, and
    // grants handed to someone arrive in a message of their own, never a second review message.
    const events = await host.store.events.list(run.campaignId);
    for (const task of tasks) {
      const messages = host.slack.messages(task.channelId);
      expect(messages.filter((m) => m.ts === task.messageTs && m.threadTs === undefined)).toHaveLength(1);
      const reminders = messages.filter((m) => m.threadTs !== undefined && /\breminder\b/i.test(m.text));
      expect(reminders.every((m) => m.threadTs === task.messageTs)).toBe(true);
      expect(reminders, task.reviewer).toHaveLength(
        events.filter((e) => e.type === 'reminder_sent' && e.data.reviewer === task.reviewer).length,
      );
      // Besides its review message, a person's DM has one message per batch of grants handed to
      // them (dave's two went to alice at once), and the security team's approval request.
      const batches = new Set(
        events
          .filter((e) => e.type === 'grant_reassigned' && e.data.to === task.reviewer)
          .map((e) => `${String(e.data.by)} ${String(e.data.from)}`),
      );
      const topLevel = posts.filter(
        (p) => p.args.channel === task.channelId && p.args.thread_ts === undefined && !approvals.includes(p),
      );
      expect(topLevel, task.reviewer).toHaveLength(1 + batches.size);
    }
  });

  it('holds the batch over the 20% limit for the security team, and applies it once erin approves', async () => {
    // 23 revocations and 2 downgrades (counted alike) of 73 reviewable grants: over the limit
    // (20%: 14), so every one is held, and frank's grants are an owner's too. erin approves; alice
    // (also an approver) does not answer.
    expect(run.summary).toMatchObject({ revocationsHeld: 25, revocationsRejected: 0, revocationsRefused: 0 });
    expect(run.summary.revocationGuard).toMatchObject({
      revocations: 25,
      reviewable: 73,
      percentAllowance: 14,
      overPercentLimit: true,
      counts: { allowed: 0, held: 25, forbidden: 0 },
      approval: { status: 'approved', decidedBy: 'erin', decidedBySlackUserId: 'U0ERIN001' },
    });
    // The tool's identities: the token's user (GET /user) and the roles it assumes.
    expect(run.summary.revocationGuard?.ownIdentities).toEqual({
      github: ['access-review-bot'],
      aws: [
        'arn:aws:iam::111122223333:role/access-review-read',
        'arn:aws:iam::111122223333:role/access-review-revoke',
        'arn:aws:iam::222233334444:role/access-review-read',
      ],
    });
    expect(host.reviewers.approvalClicks()).toEqual([
      expect.objectContaining({
        approver: 'erin',
        slackUserId: 'U0ERIN001',
        decision: 'approve',
        status: 200,
      }),
    ]);
    const events = await host.store.events.list(run.campaignId);
    const seqOf = (type: string) => events.find((e) => e.type === type)?.seq ?? -1;
    expect(seqOf('revocation_guard_evaluated')).toBeGreaterThan(seqOf('review_completed'));
    expect(seqOf('revocation_approval_requested')).toBeGreaterThan(seqOf('revocation_guard_evaluated'));
    expect(seqOf('revocation_batch_approved')).toBeGreaterThan(seqOf('revocation_approval_requested'));
    expect(seqOf('revocation_applied')).toBeGreaterThan(seqOf('revocation_batch_approved'));
    expect(events.filter((e) => e.type.startsWith('revocation_batch_'))).toHaveLength(1);
    const held = events.find((e) => e.type === 'revocation_guard_evaluated')?.data.held as Array<{
      grantId: string;
      reasons: Array<{ code: string }>;
    }>;
    expect(held).toHaveLength(25);
    const frankOwner = grants.find((g) => key(g) === 'frank owner acme direct')!;
    expect(held.find((item) => item.grantId === frankOwner.grantId)?.reasons.map((r) => r.code)).toEqual([
      'org_owner',
      'over_percent_limit',
    ]);
    expect(await renderSummary(host.store, run.summary)).toContain(
      '25 held (limit 20%: 14 of 73), approved by erin',
    );
  });

  it('records one decision for a double click', async () => {
    const bobClicks = host.reviewers.clicks().filter((c) => c.reviewer === 'bob');
    // bob reviews 10 GitHub grants and 4 AWS secret reads (prod/api/ and the staging account are
    // his, but not the reads of the three deploy roles: workflows of repositories he can push to
    // assume them); he hands ivan's to carol and clicks each of the other 13 twice at once.
    expect(bobClicks.filter((c) => c.kind === 'delegate')).toHaveLength(1);
    expect(bobClicks).toHaveLength(27);
    expect(new Set(bobClicks.map((c) => c.grantId)).size).toBe(14);
    // Gina's grant was decided from the "…" menu (twice at once), the others with the buttons.
    expect(bobClicks.filter((c) => c.reason === 'revoke:unused')).toHaveLength(2);
    expect(bobClicks.filter((c) => c.reason === undefined && c.kind !== 'delegate')).toHaveLength(24);
    const decisions = await host.store.decisions.list(run.campaignId);
    const events = await host.store.events.list(run.campaignId);
    for (const grantId of new Set(bobClicks.map((c) => c.grantId))) {
      expect(decisions.filter((d) => d.grantId === grantId)).toHaveLength(1);
      expect(events.filter((e) => e.type === 'decision_recorded' && e.data.grantId === grantId)).toHaveLength(
        1,
      );
    }
    expect(host.slack.ephemerals().some((e) => /Already recorded/.test(e.text))).toBe(true);
  });

  it('removes a revoked direct grant from GitHub and verifies it absent', async () => {
    const gina = grants.find((g) => key(g) === 'gina read acme/api direct')!;
    expect((await host.store.decisions.get(run.campaignId, gina.grantId))?.decision).toBe('revoke');
    const api = host.github.state.repositories.get('api');
    expect(api).toBeDefined();
    expect([...(api?.collaborators.values() ?? [])].map((c) => c.login)).not.toContain('gina');
    expect([...(api?.collaborators.values() ?? [])].map((c) => c.login)).not.toContain('carol');
    const verification = await host.store.outcomes.getVerification(run.campaignId, gina.grantId);
    expect(verification?.status).toBe('absent');
  });

  it('reports a direct grant removed while a team still gives the same access as still present via the team', async () => {
    const carol = grants.find((g) => key(g) === 'carol write acme/api direct')!;
    expect((await host.store.outcomes.getRevocation(run.campaignId, carol.grantId))?.status).toBe('removed');
    const verification = await host.store.outcomes.getVerification(run.campaignId, carol.grantId);
    expect(verification?.status).toBe('present');
    expect(verification?.paths).toEqual([{ via: 'team:acme/platform', permission: 'write' }]);
  });

  it("escalates a silent reviewer's grants to the next eligible reviewer, who decides them on his task", async () => {
    // dave never clicks; at the escalation his two grants go to alice, who revokes frank's admin
    // (frank left) and keeps the other. His task is complete, decided by her.
    expect(host.reviewers.clicks().filter((c) => c.reviewer === 'dave')).toEqual([]);
    const dave = await host.store.tasks.get(run.campaignId, 'dave');
    expect(dave?.status).toBe('completed');
    const frankWeb = grants.find((g) => key(g) === 'frank admin acme/web direct')!;
    expect(frankWeb.reviewer).toBe('dave');
    expect(await host.store.decisions.get(run.campaignId, frankWeb.grantId)).toMatchObject({
      decision: 'revoke',
      decidedBy: 'alice',
      decidedBySlackUserId: 'U0ALICE01',
    });
    expect((await host.store.outcomes.getVerification(run.campaignId, frankWeb.grantId))?.status).toBe(
      'absent',
    );
    expect(host.github.state.repositories.get('web')?.collaborators.has('frank')).toBe(false);
  });

  it('summarises the run from the table', () => {
    // Dave never answers: his 2 grants are escalated to alice, who revokes frank's admin on web and
    // keeps the other. alice lowers bob's admin on infra to write, erin platform's. Alice revokes both of frank's org grants
    // and 8 CI/CD grants (2 of them remediations); bob revokes carol's direct write, gina's read
    // and 4 CI/CD grants. In AWS, alice revokes a partner's resource-policy read and frank's read
    // through his group (a remediation), bob two reads in production (one through an identity
    // policy configured for automatic remediation, one a remediation) and one in staging (a
    // remediation: staging has no revoke role), erin the wildcard OIDC subject. Still present
    // afterwards: carol's write and bob's approval (both via team platform) and the 5
    // remediations nobody has done yet.
    expect(run.summary).toMatchObject({
      status: 'completed',
      grants: 87,
      reviewable: 73,
      reviewersAsked: 4,
      reviewersCompleted: 4,
      reviewersUnresponsive: 0,
      decided: 73,
      revoked: 23,
      kept: 48,
      undecided: 0,
      revocationsApplied: 20,
      remediationsRequired: 5,
      remediationsOpen: 5,
      verifiedAbsent: 18,
      stillPresent: 7,
      chainIntact: true,
    });
    expect(run.summary.flagged).toMatchObject({ separation_of_duties: 6, two_factor_disabled: 1 });
    // What the README shows the bundled scenario costs: GraphQL pages, the org (its base
    // permission), and REST only where needed.
    expect(run.summary.sourceUsage?.github?.requests).toEqual({ core: 27, graphql: 3 });
    // AWS: a read-role session and one IAM read per account; a listing per account and region plus
    // a resource policy per secret; DescribeKey and GetKeyPolicy per key (payments, hr, and each
    // account's own aws/secretsmanager).
    expect(run.summary.sourceUsage?.aws?.requests).toEqual({ sts: 2, iam: 2, secretsmanager: 7, kms: 8 });
  });

  it('calls DynamoDB only in ways each function’s IAM policy allows', () => {
    const used = host.dynamoActionsByHandler();
    // Every step of the workflow and the Slack listener ran and was observed.
    expect([...used.keys()].sort()).toEqual(
      HANDLERS.filter((spec) => spec.name !== 'notify-failure')
        .map((spec) => spec.name)
        .sort(),
    );
    for (const spec of HANDLERS) {
      const allowed = new Set<string>(spec.tableActions);
      const actions = [...(used.get(spec.name) ?? [])];
      // erin answers the security team's request, so the window never closes on it here
      // (test/e2e/revocation-incident.test.ts runs that step).
      // Nobody is left unresponsive (dave's grants are escalated and decided), so MarkUnresponsive
      // never runs here either (test/e2e/revocation-incident.test.ts and the window tests run it).
      if (['reject-held-revocations', 'notify-failure', 'mark-unresponsive'].includes(spec.name)) {
        expect(actions, spec.name).toEqual([]);
        continue;
      }
      expect(actions.length, spec.name).toBeGreaterThan(0);
      expect(
        actions.filter((action) => !allowed.has(action)),
        spec.name,
      ).toEqual([]);
    }
  });

  it('keeps an intact, append-only event chain', async () => {
    const events = await host.store.events.list(run.campaignId);
    const chain = verifyChain(events);
    expect(chain.ok).toBe(true);
    expect(events[0]?.type).toBe('campaign_started');
    expect(events.at(-1)?.type).toBe('campaign_completed');
  });

  it('exports evidence an auditor can verify, and detects tampering', async () => {
    const manifest = await exportEvidence(host.store, run.campaignId, evidenceDir);
    expect(manifest.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['grants.csv', 'decisions.csv', 'revocations.csv', 'summary.json']),
    );
    const revocations = await readFile(join(evidenceDir, 'revocations.csv'), 'utf8');
    expect(revocations).toMatch(
      /carol,acme\/api,write,direct,bob,.*,removed,.*,still_present,.*team:acme\/platform \(write\)/,
    );
    expect(await verifyEvidence(evidenceDir)).toMatchObject({ ok: true, findings: [] });

    // Who decided what, when and why: a reason chosen from the "…" menu is the justification.
    const decisionRows = parse(await readFile(join(evidenceDir, 'decisions.csv')), {
      columns: true,
    }) as Record<string, string>[];
    const frankRows = decisionRows.filter((row) => row.principal === 'frank' && row.reviewer === 'alice');
    expect(frankRows.map((row) => `${row.entitlement} ${row.resource}`).sort()).toEqual([
      'member acme',
      'owner acme',
    ]);
    for (const row of frankRows) {
      expect(row).toMatchObject({
        decision: 'revoke',
        decided_by_slack_user: 'U0ALICE01',
        justification: 'Revoke — person left or changed team',
      });
      expect(row.decided_at).not.toBe('');
    }
    expect(decisionRows.find((row) => row.principal === 'gina')).toMatchObject({
      decision: 'revoke',
      reviewer: 'bob',
      justification: 'Revoke — no longer needed',
    });
    // A plain button click records no reason.
    expect(
      decisionRows.find((row) => row.principal === 'carol' && row.resource === 'acme/api'),
    ).toMatchObject({ decision: 'revoke', justification: '' });
    const events = await host.store.events.list(run.campaignId);
    const frankGrantIds = new Set(frankRows.map((row) => row.grant_id));
    expect(
      events
        .filter((e) => e.type === 'decision_recorded' && frankGrantIds.has(String(e.data.grantId)))
        .map((e) => e.data.justification),
    ).toEqual(['Revoke — person left or changed team', 'Revoke — person left or changed team']);

    const grantsCsv = join(evidenceDir, 'grants.csv');
    const original = await readFile(grantsCsv, 'utf8');
    await writeFile(grantsCsv, original.replace('gina,read', 'gina,admin'));
    const tampered = await verifyEvidence(evidenceDir);
    expect(tampered.ok).toBe(false);
    expect(tampered.findings.join('\n')).toMatch(/grants\.csv: SHA-256/);

    // With the manifest recomputed, the row no longer hashes to its content_sha256…
    const pristineManifest = await readFile(join(evidenceDir, 'manifest.json'), 'utf8');
    const rehashOnto = async () =>
      writeFile(
        join(evidenceDir, 'manifest.json'),
        JSON.stringify(await exportManifestFor(evidenceDir, JSON.parse(pristineManifest) as Manifest)),
      );
    await rehashOnto();
    expect((await verifyEvidence(evidenceDir)).findings.join('\n')).toMatch(
      /grants\.csv: row g_[0-9a-f]+ does not match its content hash/,
    );
    // …and a row dropped altogether no longer adds up to the digest the snapshot event recorded.
    const lines = original.split('\n');
    await writeFile(grantsCsv, lines.filter((line) => !line.includes(',gina,')).join('\n'));
    await rehashOnto();
    const droppedGrant = await verifyEvidence(evidenceDir);
    // The digest first; the completeness rules then also name the decision with no grant row.
    expect(droppedGrant.findings).toContain(
      'grants.csv: the grants do not hash to the digest recorded by the snapshot_taken event',
    );
    expect(droppedGrant.findings).toContainEqual(expect.stringMatching(/^grants\.csv: no row for grant g_/));
    await writeFile(grantsCsv, original);
    await writeFile(join(evidenceDir, 'manifest.json'), pristineManifest);
    expect((await verifyEvidence(evidenceDir)).ok).toBe(true);

    // A decision rewritten in decisions.csv, with the manifest recomputed to match, still fails:
    // the row no longer says what the hash-chained event says.
    const decisionsCsv = join(evidenceDir, 'decisions.csv');
    const decisions = await readFile(decisionsCsv, 'utf8');
    const forged = decisions.replace(/,bob,revoke,/, ',bob,keep,');
    expect(forged).not.toBe(decisions);
    await writeFile(decisionsCsv, forged);
    const manifestPath = join(evidenceDir, 'manifest.json');
    const manifestJson = JSON.parse(await readFile(manifestPath, 'utf8')) as typeof manifest;
    for (const file of manifestJson.files) {
      if (file.name === 'decisions.csv') file.sha256 = createHash('sha256').update(forged).digest('hex');
    }
    await writeFile(manifestPath, JSON.stringify(manifestJson));
    const crossChecked = await verifyEvidence(evidenceDir);
    expect(crossChecked.ok).toBe(false);
    expect(crossChecked.findings.join('\n')).toMatch(/decisions\.csv: g_[0-9a-f]+ does not match event \d+/);
    await writeFile(decisionsCsv, decisions);

    // So does a reason rewritten after the fact.
    const reworded = decisions.replace('Revoke — person left or changed team', 'Revoke — no longer needed');
    expect(reworded).not.toBe(decisions);
    await writeFile(decisionsCsv, reworded);
    await writeFile(manifestPath, JSON.stringify(await exportManifestFor(evidenceDir, manifestJson)));
    expect((await verifyEvidence(evidenceDir)).findings.join('\n')).toMatch(
      /decisions\.csv: g_[0-9a-f]+ does not match event/,
    );
    await writeFile(decisionsCsv, decisions);

    // A revocation row removed from revocations.csv (manifest recomputed again) is missed too.
    const revocationsCsv = join(evidenceDir, 'revocations.csv');
    const revocationRows = (await readFile(revocationsCsv, 'utf8')).split('\n');
    const withoutStillPresent = revocationRows
      .filter((line) => !/^g_[0-9a-f]+,carol,acme\/api,write,direct,/.test(line))
      .join('\n');
    expect(withoutStillPresent.split('\n').length).toBe(revocationRows.length - 1);
    await writeFile(revocationsCsv, withoutStillPresent);
    const rehashed = await exportManifestFor(evidenceDir, manifestJson);
    await writeFile(manifestPath, JSON.stringify(rehashed));
    const dropped = await verifyEvidence(evidenceDir);
    expect(dropped.findings.join('\n')).toMatch(
      /revocations\.csv: no row for grant g_[0-9a-f]+, which the chain revoked/,
    );
  });

  it('puts remediation items in the evidence, and catches a reworded one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'access-review-remediation-'));
    try {
      const manifest = await exportEvidence(host.store, run.campaignId, dir);
      const path = join(dir, 'revocations.csv');
      const original = await readFile(path, 'utf8');
      const rows = parse(original, { columns: true }) as Record<string, string>[];
      const remediations = rows.filter((row) => row.revocation_status === 'remediation_required');
      expect(remediations.map((row) => `${row.grant_kind} ${row.principal}`).sort()).toEqual([
        'actions_secret_access acme/*',
        'app_installation dependency-scanner',
        'secret_read arn:aws:iam::111122223333:user/carol',
        'secret_read arn:aws:iam::111122223333:user/frank',
        'secret_read arn:aws:iam::222233334444:user/carol',
      ]);
      expect(
        remediations.every((row) => row.remediation !== '' && row.verification === 'still_present'),
      ).toBe(true);
      expect(await verifyEvidence(dir)).toMatchObject({ ok: true, findings: [] });
      // Someone softens what a person was asked to do, and recomputes the manifest.
      await writeFile(path, original.replace('uninstalls the GitHub App', 'may review the GitHub App'));
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(await exportManifestFor(dir, manifest)));
      // The report shows the remediation too, so it no longer renders from the edited file.
      expect((await verifyEvidence(dir)).findings).toEqual([
        expect.stringMatching(
          /^revocations\.csv: g_[0-9a-f]+ shows a remediation the chain does not record$/,
        ),
        "report.html: not what the folder's files render",
      ]);
      // So is a remaining path dropped, or an action reworded, each with the manifest recomputed.
      for (const [from, to, finding] of [
        [
          'team:acme/platform (write)',
          '',
          /shows paths that still give the access the chain does not record/,
        ],
        ['removed gina', 'removed nobody', /shows a action the chain does not record/],
      ] as const) {
        expect(original).toContain(from);
        await writeFile(path, original.replace(from, to));
        await writeFile(join(dir, 'manifest.json'), JSON.stringify(await exportManifestFor(dir, manifest)));
        expect((await verifyEvidence(dir)).findings.join('\n')).toMatch(finding);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('revokes one of each revocable CI/CD kind at its source, and reads the source again', async () => {
    const state = host.github.state;
    const api = repositoryCicd(state, 'api');
    const infra = repositoryCicd(state, 'infra');
    const byKind = async (kind: string, principal: string | RegExp) => {
      const grant = grants.find(
        (g) =>
          g.grantKind === kind &&
          (typeof principal === 'string' ? g.principal === principal : principal.test(g.principal)),
      );
      expect(grant, `${kind} ${String(principal)}`).toBeDefined();
      return {
        revocation: await host.store.outcomes.getRevocation(run.campaignId, grant!.grantId),
        verification: await host.store.outcomes.getVerification(run.campaignId, grant!.grantId),
      };
    };
    const removedAndAbsent = [
      ['organization_invitation', 'kim@contractor.example'],
      ['repository_invitation', 'judy'],
      ['deploy_key', /\(ci-deploy\)$/],
      ['branch_protection_bypass', 'release-bot'],
      ['ruleset_bypass', 'deploy keys'],
      ['actions_secret_access', 'acme/infra'],
      ['actions_variable_access', 'acme/web'],
      ['runner_group_access', 'acme/web'],
      ['personal_access_token', /^dave's token/],
    ] as const;
    for (const [kind, principal] of removedAndAbsent) {
      const { revocation, verification } = await byKind(kind, principal);
      expect(revocation?.status, kind).toBe('removed');
      expect(verification?.status, kind).toBe('absent');
    }
    // The sandbox (GitHub's state) agrees.
    expect([...state.cicd.emailInvitations.values()].map((i) => i.email)).not.toContain(
      'kim@contractor.example',
    );
    expect([...(api?.invitations.values() ?? [])].map((i) => i.login)).not.toContain('judy');
    expect([...(api?.deployKeys.values() ?? [])].map((k) => k.title)).toEqual(['docs-mirror']);
    expect(api?.branchProtection.get('main')?.pushAllowances?.apps).toEqual([]);
    expect([...(infra?.rulesets.values() ?? [])][0]?.bypassActors.map((a) => a.type)).toEqual(['Team']);
    expect(state.cicd.secrets.get('DEPLOY_TOKEN')?.repositories).toEqual(['api']);
    expect(state.cicd.variables.get('AWS_REGION')?.repositories).toEqual(['api']);
    expect([...state.cicd.runnerGroups.values()][0]?.repositories).toEqual(['infra']);
    expect([...state.cicd.personalAccessTokens.values()].map((t) => t.owner)).toEqual(['bob']);

    // bob's own approval is gone, but he still approves through team platform: reported as such.
    const bob = await byKind('environment_reviewer', 'bob');
    expect(bob.revocation?.status).toBe('removed');
    expect(bob.verification).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/platform', permission: 'approve_deployments' }],
    });
    expect(api?.environments.get('production')?.reviewers.users).toEqual([]);
  });

  it('turns what no API removes into remediation items, checked again and listed as still open', async () => {
    const report = await renderSummary(host.store, run.summary);
    for (const [kind, principal] of [
      ['actions_secret_access', 'acme/*'],
      ['app_installation', 'dependency-scanner'],
    ] as const) {
      const grant = grants.find((g) => g.grantKind === kind && g.principal === principal)!;
      const revocation = await host.store.outcomes.getRevocation(run.campaignId, grant.grantId);
      expect(revocation?.status, kind).toBe('remediation_required');
      expect(revocation?.remediation, kind).toMatch(/organization owner/i);
      expect((await host.store.outcomes.getVerification(run.campaignId, grant.grantId))?.status).toBe(
        'present',
      );
    }
    // Nothing was changed at GitHub for them.
    expect(host.github.state.cicd.secrets.get('NPM_TOKEN')?.visibility).toBe('all');
    expect([...host.github.state.cicd.apps.values()].map((a) => a.slug)).toContain('dependency-scanner');
    expect(report).toMatch(/REMEDIATION: acme\/\* read on acme\/secrets\/NPM_TOKEN/);
    expect(report).toMatch(/REMEDIATION: dependency-scanner/);
    // Separation-of-duties findings the reviewers kept are the security team's to look at; bob's
    // own approval was revoked, so it is not among them.
    expect(report).toMatch(
      /SEPARATION OF DUTIES kept by erin: acme\/platform approve_deployments on acme\/api:production \(.*bob: .*\)/,
    );
    expect(report).toMatch(
      /SEPARATION OF DUTIES kept by alice: bob bypass_pull_request_reviews on acme\/api:main/,
    );
    expect(report).toMatch(/SEPARATION OF DUTIES kept by bob: admin bypass_protection on acme\/api:main/);
    expect(report).not.toMatch(/SEPARATION OF DUTIES .*: bob approve_deployments/);
  });

  it('shows reviewers what each grant lets someone do, and its risk flags', () => {
    // Every page of the DMs as drawn, before decisions collapsed each grant into its outcome.
    const texts = drawnMessages.flatMap((message) => message.blocks);
    const approval = texts.find(
      (text) =>
        text.includes('approve_deployments') &&
        text.includes('acme/api:production') &&
        text.includes('*bob*'),
    );
    expect(approval).toMatch(
      /deployment approver: approves deployments to environment acme\/api:production, including their own/,
    );
    expect(approval).toMatch(/separation of duties/);
    const key = texts.find((text) => text.includes('ci-deploy'));
    expect(key).toMatch(/write deploy key never used/);
    expect(key).toMatch(/Details: added by bob · created 2024-05-01 \(\d+ days ago\) · never used/);
    expect(texts.find((text) => text.includes('*carol*') && text.includes('on organization'))).toMatch(
      /two-factor authentication is off/,
    );
  });

  describe("issue 10: a reviewer's day and the security team", () => {
    const rows = async (file: string) =>
      parse(await readFile(join(pristineDir, file)), { columns: true }) as Record<string, string>[];
    const events = async () =>
      (await readFile(join(pristineDir, 'events.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { seq: number; type: string; data: Record<string, unknown> });
    const grantOf = (wanted: string) => {
      const grant = grants.find((g) => key(g) === wanted);
      expect(grant, wanted).toBeDefined();
      return grant as StoredGrant;
    };

    it('shows a reminder, an escalation, a bulk keep, a justified keep, a downgrade and an email', () => {
      const text = transcript.join('\n');
      expect(text).toMatch(/^Reminded \w+ \(1st reminder\): \d+ grants? left$/m);
      expect(text).toMatch(/^\d+ grants? of dave handed to (alice|erin) \(escalation\)$/m);
      expect(text).toMatch(/alice clicked “Keep all remaining \(\d+\)” and confirmed$/m);
      expect(text).toMatch(
        /erin kept alice owner on acme with the reason “Security lead; the organisation keeps two owners for incident response\.”$/m,
      );
      expect(text).toMatch(/alice downgraded bob admin on acme\/infra to write$/m);
      expect(text).toMatch(/^Emailed the campaign summary and what needs attention to the security team$/m);
      // Nobody's click was refused, and no simulated person gave up.
      expect(text).not.toMatch(/simulated reviewer failed|no \w+ modal opened|not the grant decider/);
    });

    it('records the reminders and the hand-overs in the chain', async () => {
      const chain = await events();
      const reminders = chain.filter((e) => e.type === 'reminder_sent');
      // dave never answers: alice's /access-review remind is his first reminder, the calendar's
      // second (96 h) his next; the calendar's first (24 h) came after the command and is not repeated.
      expect(
        reminders.filter((e) => e.data.reviewer === 'dave').map((e) => [e.data.number, e.data.channel]),
      ).toEqual([
        [1, 'slack'],
        [2, 'slack'],
      ]);
      const handed = chain.filter((e) => e.type === 'grant_reassigned');
      const daves = grants.filter((g) => g.reviewer === 'dave');
      expect(
        handed
          .filter((e) => e.data.by === 'escalation')
          .map((e) => e.data.grantId)
          .sort(),
      ).toEqual(daves.map((g) => g.grantId).sort());
      for (const event of handed.filter((e) => e.data.by === 'escalation')) {
        expect(event.data).toMatchObject({ taskReviewer: 'dave', from: 'dave', actorSlackUserId: null });
        expect(['alice', 'erin']).toContain(event.data.to);
      }
      const ivan = grantOf('ivan security-auditor acme/api direct');
      expect(handed.filter((e) => e.data.by === 'delegation')).toEqual([
        expect.objectContaining({
          data: expect.objectContaining({
            grantId: ivan.grantId,
            taskReviewer: 'bob',
            from: 'bob',
            to: 'carol',
            toSlackUserId: 'U0CAROL01',
            actorSlackUserId: 'U0BOB0001',
            note: 'Carol runs the audit with Ivan; her call.',
          }),
        }),
      ]);
    });

    it('puts the written reasons, the bulk keep and who decided a handed grant in decisions.csv', async () => {
      const decisions = await rows('decisions.csv');
      const row = (wanted: string) => {
        const grant = grantOf(wanted);
        const found = decisions.find((r) => r.grant_id === grant.grantId);
        expect(found, wanted).toBeDefined();
        return found as Record<string, string>;
      };
      expect(row('alice owner acme direct')).toMatchObject({
        reviewer: 'erin',
        decision: 'keep',
        justification: 'Security lead; the organisation keeps two owners for incident response.',
        bulk: '',
      });
      expect(row('ivan security-auditor acme/api direct')).toMatchObject({
        reviewer: 'bob',
        decided_by: 'carol',
        decided_by_slack_user: 'U0CAROL01',
        decision: 'keep',
        justification: 'Ivan audits the API for the SOC 2 report until March; read access only.',
      });
      const bulk = decisions.filter((r) => r.bulk === 'true');
      expect(bulk.length).toBeGreaterThan(0);
      expect(
        bulk.every((r) => r.reviewer === 'alice' && r.decision === 'keep' && r.decided_by === 'alice'),
      ).toBe(true);
      // dave's grants were decided by whoever they were escalated to, on dave's task.
      for (const grant of grants.filter((g) => g.reviewer === 'dave')) {
        const found = decisions.find((r) => r.grant_id === grant.grantId);
        expect(found?.reviewer, key(grant)).toBe('dave');
        expect(['alice', 'erin'], key(grant)).toContain(found?.decided_by);
      }
    });

    it('lowers admin on acme/infra to write for bob and team platform, and verifies both like revocations', async () => {
      const grant = grantOf('bob admin acme/infra direct');
      expect(await host.store.decisions.get(run.campaignId, grant.grantId)).toMatchObject({
        decision: 'downgrade',
        downgradeTo: 'write',
      });
      expect(host.github.state.repositories.get('infra')?.collaborators.get('bob')?.permission).toBe('write');
      const revocations = await rows('revocations.csv');
      expect(revocations.find((r) => r.grant_id === grant.grantId)).toMatchObject({
        principal: 'bob',
        resource: 'acme/infra',
        decision: 'downgrade',
        downgrade_to: 'write',
        revocation_status: 'removed',
        // erin lowered platform's admin on infra too: no path gives bob admin any more.
        verification: 'confirmed_absent',
        to_held: 'true',
      });
      const platform = grantOf('acme/platform admin acme/infra direct');
      expect(revocations.find((r) => r.grant_id === platform.grantId)).toMatchObject({
        decided_by: 'erin',
        decision: 'downgrade',
        downgrade_to: 'write',
        verification: 'confirmed_absent',
      });
      expect(await host.store.outcomes.getVerification(run.campaignId, grant.grantId)).toMatchObject({
        status: 'absent',
      });
      const chain = await events();
      const applied = chain.find((e) => e.type === 'revocation_applied' && e.data.grantId === grant.grantId);
      expect(applied?.data).toMatchObject({ operation: 'downgrade', to: 'write' });
      const verified = chain.find(
        (e) => e.type === 'revocation_verified' && e.data.grantId === grant.grantId,
      );
      expect(verified?.data).toMatchObject({ operation: 'downgrade', to: 'write', toHeld: true });
    });

    it('emails the summary and what needs attention to the security team through SES', async () => {
      const mail = (await host.ses?.emails()) ?? [];
      expect(mail.length).toBeGreaterThanOrEqual(2);
      for (const email of mail) {
        expect(email.from).toBe('access-review@acme.example');
        expect(email.to).toEqual(['security@acme.example']);
      }
      const summary = mail.find((email) => email.subject.includes(run.campaignId));
      expect(summary?.text ?? summary?.html).toContain(run.campaignId);
      const sent = (await events()).filter((e) => e.type === 'email_sent').map((e) => e.data.purpose);
      expect(sent).toEqual(expect.arrayContaining(['summary', 'needs_attention']));
      expect(sent).toHaveLength(mail.length);
    });

    it("publishes a reviewer's open task on their App Home tab", async () => {
      expect(daveHome).toBeDefined();
      const home = JSON.stringify((await daveHome)?.blocks ?? []);
      expect(home).toContain(run.campaignId);
      expect(home).toMatch(/2 grants/);
    });

    it('lets the security team ask how the review goes and remind everyone from Slack', () => {
      const commands = host.reviewers.commands();
      expect(commands.map((c) => [c.by, c.text, c.status])).toEqual([
        ['alice', 'status', 200],
        ['alice', 'remind', 200],
      ]);
      expect(commands[0]?.answers.join('\n')).toContain(run.campaignId);
      expect(commands[1]?.answers.join('\n')).toMatch(/reminded \d+ reviewer/);
    });

    it('exports evidence that verifies against the key the host signed with', async () => {
      const pin = { publicKeyPem: await host.signer.publicKeyPem() };
      expect(await verifyEvidence(pristineDir, { pin })).toMatchObject({ ok: true, findings: [] });
    });
  });

  describe('AWS, in the same campaign', () => {
    const PROD = '111122223333';
    const STAGING = '222233334444';
    const secretName = (g: StoredGrant) => String(g.raw.secretName ?? g.resource);
    const awsKey = (g: StoredGrant) =>
      `${g.principal} ${g.entitlement} ${g.resourceType === 'aws_secret' ? secretName(g) : g.resource} ${viaLabel(g.via)}`;
    const awsGrant = (principal: string, secret: string) => {
      const grant = grants.find((g) => g.principal === principal && g.raw.secretName === secret);
      expect(grant, `${principal} on ${secret}`).toBeDefined();
      return grant as StoredGrant;
    };
    const outcome = async (grant: StoredGrant) => ({
      revocation: await host.store.outcomes.getRevocation(run.campaignId, grant.grantId),
      verification: await host.store.outcomes.getVerification(run.campaignId, grant.grantId),
    });

    it('finds who can read each secret by every path, and which repositories can assume which role', () => {
      const aws = grants.filter((g) => g.connector === 'aws').map(awsKey);
      const user = (account: string, name: string) => `arn:aws:iam::${account}:user/${name}`;
      const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
      expect(aws.sort()).toEqual(
        [
          // Through group payments-readers; the key policy lets the account's IAM decide.
          `${user(PROD, 'alice')} read prod/payments/stripe identity_policy:arn:aws:iam::${PROD}:policy/ReadPaymentsSecrets (group payments-readers)`,
          `${user(PROD, 'frank')} read prod/payments/stripe identity_policy:arn:aws:iam::${PROD}:policy/ReadPaymentsSecrets (group payments-readers)`,
          `${role(PROD, 'payments-api')} read prod/payments/stripe identity_policy:${role(PROD, 'payments-api')}#read-stripe`,
          // Another account's role, named in the secret's resource policy and in the key policy.
          `arn:aws:iam::444455556666:role/partner-reconciliation read prod/payments/stripe resource_policy`,
          `${user(PROD, 'bob')} read prod/api/database identity_policy:arn:aws:iam::${PROD}:policy/ReadApiSecrets (group api-developers)`,
          `${user(PROD, 'carol')} read prod/api/database identity_policy:${user(PROD, 'carol')}#debug-access`,
          `${user(PROD, 'ci-legacy')} read prod/api/database identity_policy:arn:aws:iam::aws:policy/SecretsManagerReadWrite`,
          `${role(PROD, 'batch/reporting-batch')} read prod/api/database identity_policy:arn:aws:iam::${PROD}:policy/access-review-managed/BatchReadSecrets`,
          `${role(PROD, 'deploy-api')} read prod/api/database identity_policy:arn:aws:iam::${PROD}:policy/ReadApiSecrets`,
          `${role(PROD, 'github-actions-ci')} read prod/api/database identity_policy:${role(PROD, 'github-actions-ci')}#ci-secrets`,
          // Only the HR app: the HR key's policy trusts nobody else (ci-legacy may call
          // GetSecretValue on every secret, but cannot decrypt this one, nor stripe).
          `${role(PROD, 'hr-app')} read prod/hr/payroll identity_policy:${role(PROD, 'hr-app')}#read-payroll`,
          // dave may use every secret action, but his permission boundary keeps him to prod/web/;
          // ci-legacy is denied this one by the secret's resource policy.
          `${user(PROD, 'dave')} read prod/web/session-key identity_policy:${user(PROD, 'dave')}#everything-secrets`,
          // Staging: a resource policy alone suffices in the same account.
          `${user(STAGING, 'carol')} read staging/api/database resource_policy`,
          `${role(STAGING, 'deploy-api-staging')} read staging/api/database identity_policy:${role(STAGING, 'deploy-api-staging')}#staging-secrets`,
          // GitHub OIDC: who may assume each deploy role, and what that lets them read.
          `repo:acme/api:environment:production assume ${role(PROD, 'deploy-api')} trust_policy`,
          `repo:acme/* assume ${role(PROD, 'github-actions-ci')} trust_policy`,
          `repo:acme/infra:ref:refs/heads/main assume ${role(PROD, 'github-actions-ci')} trust_policy`,
          `repo:acme/api:ref:refs/heads/* assume ${role(STAGING, 'deploy-api-staging')} trust_policy`,
          `repo:acme/api:environment:production read prod/api/database assumed_role:${role(PROD, 'deploy-api')}`,
          `repo:acme/* read prod/api/database assumed_role:${role(PROD, 'github-actions-ci')}`,
          `repo:acme/infra:ref:refs/heads/main read prod/api/database assumed_role:${role(PROD, 'github-actions-ci')}`,
          `repo:acme/api:ref:refs/heads/* read staging/api/database assumed_role:${role(STAGING, 'deploy-api-staging')}`,
        ].sort(),
      );
      const wildcard = grants.find((g) => g.principal === 'repo:acme/*' && g.grantKind === 'oidc_role_trust');
      expect(wildcard?.flags).toEqual([
        'no_audience_condition',
        'trusted_by_many_repositories',
        'wildcard_subject',
      ]);
      expect(
        awsGrant('arn:aws:iam::444455556666:role/partner-reconciliation', 'prod/payments/stripe').flags,
      ).toEqual(['cross_account']);
      // Reads that follow from a trust are asked about where they come from, not on their own.
      const derived = grants.filter((g) => g.via.kind === 'assumed_role');
      expect(derived.every((g) => !g.reviewable && g.derivedFrom.length === 2)).toBe(true);
    });

    it('routes AWS grants by account and name prefix, never to the person who benefits', async () => {
      expect(awsGrant(`arn:aws:iam::${PROD}:user/carol`, 'prod/api/database').reviewer).toBe('bob');
      expect(awsGrant(`arn:aws:iam::${STAGING}:user/carol`, 'staging/api/database').reviewer).toBe('bob');
      expect(
        awsGrant('arn:aws:iam::444455556666:role/partner-reconciliation', 'prod/payments/stripe').reviewer,
      ).toBe('alice');
      // bob owns prod/api/ but is IAM user bob (people[].aws): his own read goes elsewhere.
      const bobsOwn = awsGrant(`arn:aws:iam::${PROD}:user/bob`, 'prod/api/database');
      expect(bobsOwn.reviewer).toBe('alice');
      expect(bobsOwn.routingReason).toMatch(
        /bob \(owner of aws_secret_prefix 111122223333:prod\/api\/\) acts as/,
      );
      // Whoever can push to a repository a trusted subject covers benefits from the trust, and from
      // what the role it assumes can read.
      const deployRoles = new Set(
        grants.filter((g) => g.grantKind === 'oidc_role_trust').map((g) => g.resource),
      );
      const viaWorkflows = grants.filter(
        (g) => g.reviewable && (g.grantKind === 'oidc_role_trust' || deployRoles.has(g.principal)),
      );
      expect(viaWorkflows).toHaveLength(7);
      for (const grant of viaWorkflows) {
        expect(['alice', 'bob', 'carol', 'dave', 'hank', 'frank'], awsKey(grant)).not.toContain(
          grant.reviewer,
        );
      } // One DM per reviewer lists GitHub and AWS together.
      const connectors = new Set(grants.filter((g) => g.reviewer === 'alice').map((g) => g.connector));
      expect([...connectors].sort()).toEqual(['aws', 'github']);
      const alice = await host.store.tasks.get(run.campaignId, 'alice');
      // Her one DM shows undecided grants a window at a time, redrawn as she decides.
      const drawn = drawnMessages
        .filter((message) => message.channel === alice?.channelId)
        .flatMap((message) => message.blocks)
        .join('\n');
      expect(drawn).toContain(
        '*IAM role partner-reconciliation (account 444455556666)* has *read* on *AWS secret prod/payments/stripe',
      );
      expect(drawn).toContain('*frank* has *owner* on organization *acme*');
    });

    it('revokes one of each AWS kind at its source, records the policy documents, and reads AWS again', async () => {
      const state = host.aws?.state;
      expect(state).toBeDefined();
      const prod = state!.account(PROD);
      // A resource-policy read: the partner is taken out of the secret's policy.
      const partner = await outcome(
        awsGrant('arn:aws:iam::444455556666:role/partner-reconciliation', 'prod/payments/stripe'),
      );
      expect(partner.revocation?.status).toBe('removed');
      expect(partner.verification?.status).toBe('absent');
      // It was the policy's only statement, so the policy is deleted: no document after.
      const [change] = partner.revocation?.policyChanges ?? [];
      expect(change?.before).toContain('partner-reconciliation');
      expect(change?.beforeSha256).toBe(
        createHash('sha256')
          .update(change?.before ?? '')
          .digest('hex'),
      );
      expect(change).toMatchObject({ after: null, afterSha256: null });
      const stripe = [...prod.secrets.values()].find((secret) => secret.name === 'prod/payments/stripe');
      expect(stripe).toBeDefined();
      expect(stripe?.resourcePolicy).toBeUndefined();

      // An OIDC trust: the wildcard subject is narrowed out; the other subject stays.
      const wildcard = grants.find(
        (g) => g.principal === 'repo:acme/*' && g.grantKind === 'oidc_role_trust',
      )!;
      expect(await outcome(wildcard)).toMatchObject({
        revocation: {
          status: 'removed',
          policyChanges: [expect.objectContaining({ policy: `${wildcard.resource} trust policy` })],
        },
        verification: { status: 'absent' },
      });
      const trust = prod.roles.get('github-actions-ci')?.trustPolicy.text ?? '';
      expect(trust).not.toContain('repo:acme/*');
      expect(trust).toContain('repo:acme/infra:ref:refs/heads/main');

      // An identity policy on a path configured for automatic remediation gets a new version.
      const batch = await outcome(
        awsGrant(`arn:aws:iam::${PROD}:role/batch/reporting-batch`, 'prod/api/database'),
      );
      expect(batch.revocation?.status).toBe('removed');
      expect(batch.verification?.status).toBe('absent');
      expect(batch.revocation?.policyChanges?.[0]?.policy).toBe(
        `arn:aws:iam::${PROD}:policy/access-review-managed/BatchReadSecrets`,
      );
      const batchPolicy = prod.policies.get('BatchReadSecrets');
      expect(batchPolicy?.versions.find((version) => version.isDefault)?.policy.text).toContain('Deny');

      // Identity policies elsewhere, and an account without a revoke role: a person must act.
      for (const [principal, secret] of [
        [`arn:aws:iam::${PROD}:user/carol`, 'prod/api/database'],
        [`arn:aws:iam::${PROD}:user/frank`, 'prod/payments/stripe'],
        [`arn:aws:iam::${STAGING}:user/carol`, 'staging/api/database'],
      ] as const) {
        const { revocation, verification } = await outcome(awsGrant(principal, secret));
        expect(revocation?.status, principal).toBe('remediation_required');
        expect(revocation?.policyChanges, principal).toBeUndefined();
        expect(verification?.status, principal).toBe('present');
      }
      expect(prod.users.get('carol')?.inlinePolicies.get('debug-access')?.text).not.toContain('Deny');
      const staging = [...state!.account(STAGING).secrets.values()][0];
      expect(staging?.resourcePolicy?.text).toContain('user/carol');
      // Nothing anywhere read a secret's value.
      expect(host.aws?.requests.filter((r) => r.action === 'GetSecretValue')).toEqual([]);
      expect(host.aws?.violations).toEqual([]);
    });

    it('puts the changed policy documents in the evidence, where verify-evidence checks them', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'access-review-aws-'));
      try {
        await exportEvidence(host.store, run.campaignId, dir);
        const lines = (await readFile(join(dir, 'policy-changes.jsonl'), 'utf8')).trim().split('\n');
        expect(lines).toHaveLength(3);
        expect(await verifyEvidence(dir)).toMatchObject({ ok: true, findings: [] });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
