import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportEvidence } from '../../functions/evidence/export';
import { verifyEvidence } from '../../functions/evidence/verify';
import { type CampaignEvent, canonicalJson, eventHash } from '../../functions/store/events';
import { type CampaignRun, type EmbeddedHost, startEmbeddedHost } from '../../lib/local/host';
import { renderSummary } from '../../lib/local/report';
import { parseScenario } from '../../sandbox/scenario';

/**
 * The incident the revocation guard exists for, end to end on the embedded host: the reviewer
 * decides to demote and remove every owner, the tool's own identity included (what two reviewers
 * once did in 16 clicks, leaving the organisation with no members). The guard holds the owners,
 * refuses the tool outright, and asks the security team; nobody answers within the (local)
 * approval window, so the held revocations are rejected. The organisation keeps its owners and
 * the evidence says why each revocation did not happen.
 */
const { scenario, config } = parseScenario({
  description: 'every owner revoked',
  organization: {
    login: 'acme',
    viewer: 'access-review-bot',
    members: [
      { login: 'alice', role: 'owner', email: 'alice@acme.example' },
      { login: 'frank', role: 'owner', email: 'frank@acme.example' },
      { login: 'access-review-bot', role: 'owner' },
      { login: 'erin', email: 'erin@acme.example' },
      { login: 'bob', email: 'bob@acme.example' },
    ],
    repositories: [{ name: 'api', collaborators: { bob: 'write' } }],
  },
  slack: {
    users: [
      { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
      { id: 'U0FRANK01', name: 'frank', email: 'frank@acme.example' },
      { id: 'U0ERIN001', name: 'erin', email: 'erin@acme.example' },
      { id: 'U0BOB0001', name: 'bob', email: 'bob@acme.example' },
    ],
  },
  reviewers: {
    erin: {
      default: 'keep',
      revoke: [{ principal: 'alice' }, { principal: 'frank' }, { principal: 'access-review-bot' }],
    },
  },
  // bob is the security team; he does not answer, so the approval window closes.
  securityTeam: { bob: 'ignore' },
  config: {
    github: { organization: 'acme' },
    routing: {
      owners: [{ resource: 'acme', resourceType: 'organization', reviewer: 'erin' }],
      fallbackReviewers: ['erin'],
    },
    revocationGuard: { approvers: ['bob'] },
  },
});

let host: EmbeddedHost;
let run: CampaignRun;
let evidenceDir: string;
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
  evidenceDir = await mkdtemp(join(tmpdir(), 'access-review-incident-'));
}, 120_000);

afterAll(async () => {
  await host?.close();
  if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
});

describe('a campaign whose reviewer revokes every owner', () => {
  it('holds the owners, refuses the tool, and rejects them when nobody approves in time', () => {
    const owners = [...host.github.state.members.values()]
      .filter((m) => m.role === 'owner')
      .map((m) => m.login);
    expect(owners.sort()).toEqual(['access-review-bot', 'alice', 'frank']);
    expect(host.github.state.members.size).toBe(5);
    // alice and frank: owner and member grants, and their admin through the org on acme/api is
    // not reviewable; the bot's two grants are refused outright.
    expect(run.summary).toMatchObject({
      revoked: 6,
      revocationsHeld: 4,
      revocationsRejected: 4,
      revocationsRefused: 2,
      revocationsApplied: 0,
      verifiedAbsent: 0,
      chainIntact: true,
    });
    expect(run.summary.revocationGuard?.approval).toMatchObject({
      status: 'expired',
      reason: 'no answer within the approval window',
    });
    expect(progress).toContain('▶ RejectHeldRevocations');
    expect(progress).toContain('No answer within the approval window: held revocations rejected');
    // Nothing was sent to GitHub that changes a membership.
    expect(host.github.requests.filter((r) => r.method !== 'GET' && r.path !== '/graphql')).toEqual([]);
  });

  it('asked the security team in Slack, listing what would happen, and the message says it closed', () => {
    const posts = host.slack.calls().filter((c) => c.method === 'chat.postMessage' && c.ok);
    const request = posts.find((p) => String(p.args.text).includes("held for the security team's approval"));
    expect(request?.args.channel).toBe(host.slack.dmChannelFor('U0BOB0001'));
    const [message] = host.slack.messages(host.slack.dmChannelFor('U0BOB0001'));
    const text = JSON.stringify(message?.blocks);
    expect(text).toContain('organization acme would be left with no owner (besides the tool itself)');
    expect(text).toContain("Never revoked, whatever is decided here* (access-review's own identity)");
    expect(text).toContain('Closed without an answer');
    expect(text).not.toContain('guard_approve');
  });

  it('records every rejection in an evidence folder verify-evidence accepts', async () => {
    await exportEvidence(host.store, run.campaignId, evidenceDir);
    expect(await verifyEvidence(evidenceDir)).toMatchObject({ ok: true, findings: [] });
    const rows = parse(await readFile(join(evidenceDir, 'revocations.csv')), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(rows.map((r) => [r.principal, r.entitlement, r.revocation_status, r.guard]).sort()).toEqual([
      ['access-review-bot', 'member', 'refused_protected', 'forbidden'],
      ['access-review-bot', 'owner', 'refused_protected', 'forbidden'],
      ['alice', 'member', 'rejected', 'held'],
      ['alice', 'owner', 'rejected', 'held'],
      ['frank', 'member', 'rejected', 'held'],
      ['frank', 'owner', 'rejected', 'held'],
    ]);
    const alice = rows.find((r) => r.principal === 'alice' && r.entitlement === 'owner')!;
    expect(alice.action).toBe(
      'not revoked: held by the revocation guard and not approved: no answer within the approval window',
    );
    expect(alice.guard_reasons).toContain('org_owner: alice is an owner of the organization');
    expect(alice.verification).toBe('not_verified');
    const summary = JSON.parse(await readFile(join(evidenceDir, 'summary.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(summary).toMatchObject({ revocationsRejected: 4, revocationsRefused: 2 });
    const report = await renderSummary(host.store, run.summary);
    expect(report).toContain('NOT REVOKED (held, not approved): alice owner on acme');
    expect(report).toContain("NOT REVOKED (the tool's own identity): access-review-bot owner on acme");
  });

  it('names a revoke decision whose outcome is missing from the chain', async () => {
    const eventsPath = join(evidenceDir, 'events.jsonl');
    const lines = (await readFile(eventsPath, 'utf8')).trim().split('\n');
    // Drop the rejections from the chain: besides the broken hashes, the gap itself is named.
    const withoutRejection = lines.filter((line) => !line.includes('"type":"revocation_rejected"'));
    expect(withoutRejection.length).toBeLessThan(lines.length);
    await writeFile(eventsPath, `${withoutRejection.join('\n')}\n`);
    const check = await verifyEvidence(evidenceDir);
    expect(check.ok).toBe(false);
    expect(check.findings.join('\n')).toMatch(
      /was decided revoke \(event \d+\) but the chain records no revocation outcome/,
    );
  });

  it('catches a chain that says a held revocation was applied without approval, or a forbidden one at all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'access-review-incident-forged-'));
    try {
      await exportEvidence(host.store, run.campaignId, dir);
      const path = join(dir, 'events.jsonl');
      const events = (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as CampaignEvent);
      // Someone who can rewrite the whole chain turns one rejection and one refusal into removals
      // and re-hashes every event after them: the hashes hold, the guard's rules do not.
      const forged = new Set<number>();
      for (const type of ['revocation_rejected', 'revocation_refused']) {
        const event = events.find((e) => e.type === type)!;
        event.type = 'revocation_applied';
        event.data = { ...event.data, status: 'removed' };
        forged.add(event.seq);
      }
      events.forEach((event, index) => {
        if (index > 0) event.prevHash = events[index - 1]!.hash;
        const { hash: _hash, ...rest } = event;
        event.hash = eventHash(rest);
      });
      await writeFile(path, events.map((event) => `${canonicalJson(event)}\n`).join(''));
      const findings = (await verifyEvidence(dir)).findings.join('\n');
      expect(findings).not.toMatch(/chain broken/);
      expect(findings).toMatch(
        /revokes grant g_\w+, which the revocation guard held, with no approval in the chain/,
      );
      expect(findings).toMatch(/revokes grant g_\w+, which the revocation guard forbade/);
      expect(forged.size).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
