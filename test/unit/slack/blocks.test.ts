import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import {
  actionIdFor,
  buildReviewMessage,
  buttonValueFor,
  MAX_MESSAGE_BLOCKS,
  parseActionId,
  parseButtonValue,
  parseReasonActionId,
  parseReasonValue,
  REASON_CODES,
  REASONS,
  type ReviewItem,
  ReviewMessageError,
  reasonActionIdFor,
  reasonValueFor,
  revocationEffect,
} from '../../../functions/slack/blocks';
import { interactiveElements, validateBlocks } from '../../../sandbox/slack/blockKit';

// Things that must never reach Slack, planted where a careless builder would pick them up.
const SECRETS = ['ghp_SECRETSECRETSECRETSECRET0000', 'task-token-AAAA-BBBB-CCCC'];

function grant(index: number, extra: Partial<Pick<Grant, 'via'>> & { outside?: boolean } = {}): Grant {
  return makeGrant(
    {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: `acme/repo-${index}`,
      principalType: 'user',
      principal: `user${index}`,
      entitlement: 'write',
      via: extra.via ?? { kind: 'direct' },
    },
    { raw: { outsideCollaborator: extra.outside ?? false, token: SECRETS[0], taskToken: SECRETS[1] } },
  );
}

function items(
  count: number,
  decided: (index: number) => ReviewItem['decision'] = () => undefined,
): ReviewItem[] {
  return Array.from({ length: count }, (_, index) => {
    const decision = decided(index);
    return { grant: grant(index), routingReason: 'you own acme/repo', ...(decision ? { decision } : {}) };
  });
}

const base = { campaignId: '2026-Q4', reviewerLogin: 'alice', dueAt: '2026-12-15T09:00:00Z' };

function elements(blocks: KnownBlock[]) {
  return blocks.flatMap((block) =>
    interactiveElements(block as unknown as Record<string, unknown>).map((e) => e.element),
  );
}
const buttons = (blocks: KnownBlock[]) => elements(blocks).filter((e) => e.type === 'button');
/** Keep and Revoke of each grant (not Hand over…, not the whole-task buttons). */
const decisionButtons = (blocks: KnownBlock[]) =>
  buttons(blocks).filter((e) => /^review_(keep|revoke|justify):/.test(String(e.action_id)));
const menus = (blocks: KnownBlock[]) => elements(blocks).filter((e) => e.type === 'overflow');

interface MenuOption {
  text: { type: string; text: string };
  value: string;
}

describe('buildReviewMessage', () => {
  it.each([1, 12, 500])('builds a message Slack accepts for %i grants, with no secret in it', (count) => {
    const message = buildReviewMessage({ ...base, items: items(count) });
    expect(message.blocks.length).toBeLessThanOrEqual(MAX_MESSAGE_BLOCKS);
    expect(validateBlocks(message.blocks)).toEqual({ ok: true, blocks: message.blocks });

    const actionIds = elements(message.blocks).map((b) => b.action_id);
    expect(new Set(actionIds).size).toBe(actionIds.length);
    // Each test grant is on a repository of its own: a resource line and two blocks each, 15 fit
    // beside header, intro, the whole-task buttons and the summary.
    const listed = Math.min(count, 15);
    expect(decisionButtons(message.blocks)).toHaveLength(2 * listed);
    expect(menus(message.blocks)).toHaveLength(listed);

    const everything = JSON.stringify(message);
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    for (const b of buttons(message.blocks)) {
      const wholeTask = /^review_(keep_all|delegate_all):/.test(String(b.action_id));
      expect(Object.keys(JSON.parse(String(b.value))).sort()).toEqual(wholeTask ? ['c'] : ['c', 'g']);
    }
    for (const menu of menus(message.blocks)) {
      for (const option of menu.options as MenuOption[]) {
        expect(Object.keys(JSON.parse(option.value)).sort()).toEqual(['c', 'g', 'r']);
      }
    }
    expect(message.text).toContain(`${count} of ${count} grant`);
  });

  it('names AWS principals and resources by type, name and account, and says which policy', () => {
    const secretRead = makeGrant(
      {
        connector: 'aws',
        grantKind: 'secret_read',
        resourceType: 'aws_secret',
        resource: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/payments/stripe-AbC123',
        principalType: 'iam_role',
        principal: 'arn:aws:iam::111122223333:role/ci/batch-runner',
        entitlement: 'read',
        via: { kind: 'identity_policy', policy: 'arn:aws:iam::111122223333:policy/ReadPayments' },
      },
      {
        raw: {
          secretName: 'prod/payments/stripe',
          accountId: '111122223333',
          accountName: 'production',
          statements: ['ReadPayments (statement 1) of arn:aws:iam::111122223333:policy/ReadPayments'],
        },
      },
    );
    const trust = makeGrant(
      {
        connector: 'aws',
        grantKind: 'oidc_role_trust',
        resourceType: 'iam_role',
        resource: 'arn:aws:iam::111122223333:role/deploy-api',
        principalType: 'oidc_subject',
        principal: 'repo:acme/*',
        entitlement: 'assume',
        via: { kind: 'trust_policy' },
      },
      { raw: { roleName: 'deploy-api', accountId: '111122223333' }, flags: ['wildcard_subject'] },
    );
    const sections = JSON.stringify(
      buildReviewMessage({
        ...base,
        items: [
          { grant: secretRead, routingReason: 'owner of aws_account 111122223333' },
          { grant: trust, routingReason: 'owner of aws_account 111122223333' },
        ],
      }).blocks,
    );
    expect(sections).toContain(
      '*IAM role batch-runner (account 111122223333)* has *read* on *AWS secret prod/payments/stripe (production (111122223333))*',
    );
    expect(sections).toContain('How: via identity policy arn:aws:iam::111122223333:policy/ReadPayments');
    expect(sections).toContain('allowed by ReadPayments (statement 1)');
    expect(sections).toContain(
      '*GitHub Actions OIDC subject repo:acme/** has *assume* on *IAM role deploy-api (111122223333)*',
    );
    expect(sections).toContain('trusts a wildcard subject');
  });

  it('describes each grant: who, what, how obtained, why this reviewer', () => {
    const outside = makeGrant(
      {
        connector: 'github',
        grantKind: 'user_repository',
        resourceType: 'repository',
        resource: 'acme/api',
        principalType: 'user',
        principal: 'frank',
        entitlement: 'admin',
        via: { kind: 'direct' },
      },
      { raw: { outsideCollaborator: true } },
    );
    const viaTeam = grant(2, { via: { kind: 'team', team: 'acme/platform' } });
    const message = buildReviewMessage({
      ...base,
      items: [
        { grant: outside, routingReason: 'you own acme/api <!channel> & more' },
        { grant: viaTeam, routingReason: 'you maintain acme/platform' },
      ],
    });
    const sections = JSON.stringify(message.blocks);
    expect(sections).toContain('*frank* has *admin* on repository *acme/api*');
    expect(sections).toContain('How: directly · outside collaborator');
    // Routing reasons are data, not markup: no @channel ping can ride along.
    expect(sections).toContain('Why you: you own acme/api &lt;!channel&gt; &amp; more');
    expect(sections).toContain('How: via team acme/platform');
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Access review 2026-Q4' } });
    expect(JSON.stringify(message.blocks[1])).toContain('removes the access at its source');
  });

  it('gives Keep and a confirmed, danger-styled Revoke, both carrying only campaign and grant ids', () => {
    const [item] = items(1);
    const message = buildReviewMessage({ ...base, items: [item as ReviewItem] });
    const [keep, revoke] = decisionButtons(message.blocks);
    const grantId = (item as ReviewItem).grant.grantId;
    expect(keep).toMatchObject({ action_id: `review_keep:${grantId}`, text: { text: 'Keep' } });
    expect(keep).not.toHaveProperty('confirm');
    expect(revoke).toMatchObject({
      action_id: `review_revoke:${grantId}`,
      style: 'danger',
      confirm: { style: 'danger' },
    });
    expect(keep?.value).toBe(JSON.stringify({ c: '2026-Q4', g: grantId }));
    expect(revoke?.value).toBe(keep?.value);
  });

  it('offers each open grant a "…" menu of decisions with a reason, next to its buttons', () => {
    const [first, second] = items(2) as [ReviewItem, ReviewItem];
    const message = buildReviewMessage({ ...base, items: [first, second] });
    const grantId = first.grant.grantId;
    // The menu sits in the grant's own actions block, after Keep, Revoke and Hand over: no extra
    // block (header, intro, whole-task buttons, then a resource line and two blocks per grant).
    expect(message.blocks).toHaveLength(3 + 2 * 3);
    const block = message.blocks.find((b) => b.block_id === `decide:${grantId}`);
    expect(block?.type).toBe('actions');
    const inBlock = elements([block as KnownBlock]);
    expect(inBlock.map((e) => e.type)).toEqual(['button', 'button', 'button', 'overflow']);
    const menu = inBlock[3] as Record<string, unknown>;
    expect(menu.action_id).toBe(`review_reason:${grantId}`);
    expect(menu.action_id).toBe(reasonActionIdFor(grantId));
    const options = menu.options as MenuOption[];
    expect(options.map((o) => o.text.text)).toEqual([
      'Keep — needed for their current role',
      'Keep — temporary, revisit next review',
      'Revoke — no longer needed',
      'Revoke — person left or changed team',
      'Revoke — more access than the job needs',
    ]);
    expect(options.map((o) => o.text.type)).toEqual(Array(5).fill('plain_text'));
    // Each value carries the campaign, this grant and the reason code, and nothing else.
    expect(options.map((o) => o.value)).toEqual(
      REASON_CODES.map((r) => JSON.stringify({ c: '2026-Q4', g: grantId, r })),
    );
    for (const option of options) {
      expect(option.value.length).toBeLessThanOrEqual(150);
      expect(option.text.text.length).toBeLessThanOrEqual(75);
      expect(parseReasonValue(option.value)).toMatchObject({ campaignId: '2026-Q4', grantId });
    }
    // Choosing a reason asks first, and says what a revoke would do, as the Revoke button does.
    expect(JSON.stringify(menu.confirm)).toContain(revocationEffect(first.grant));
    expect(JSON.stringify(message.blocks[1])).toContain('*…* menu');
    expect(validateBlocks(message.blocks).ok).toBe(true);
  });

  it('shows the reason on the decided line when the decision has one', () => {
    const message = buildReviewMessage({
      ...base,
      items: items(3, (i) =>
        i === 0
          ? { decision: 'revoke', decidedAt: '2026-12-01T10:00:00Z', justification: REASONS['revoke:left'] }
          : i === 1
            ? { decision: 'keep', decidedAt: '2026-12-01T10:05:00Z', justification: '<!channel> & co' }
            : { decision: 'keep', decidedAt: '2026-12-01T10:06:00Z' },
      ),
    });
    const lines = message.blocks.filter((b) => b.type === 'context').map((b) => JSON.stringify(b));
    expect(lines[0]).toContain('❌ Revoke requested at');
    expect(lines[0]).toContain('Reason: Revoke — person left or changed team');
    expect(lines[1]).toContain('Reason: &lt;!channel&gt; &amp; co');
    expect(lines[2]).toContain('✅ Kept at');
    expect(lines[2]).not.toContain('Reason');
    expect(validateBlocks(message.blocks).ok).toBe(true);
  });

  it('refuses a campaign id too long for a reason option value', () => {
    const [item] = items(1) as [ReviewItem];
    expect(() => buildReviewMessage({ ...base, campaignId: 'c'.repeat(78), items: [item] })).not.toThrow();
    expect(() => buildReviewMessage({ ...base, campaignId: 'c'.repeat(79), items: [item] })).toThrow(
      /too long to be carried in a reason menu option/,
    );
  });

  it('replaces the buttons of a decided grant with who-decided-what-when', () => {
    const message = buildReviewMessage({
      ...base,
      items: items(3, (i) =>
        i === 0
          ? { decision: 'keep', decidedAt: '2026-12-01T10:00:00Z' }
          : i === 1
            ? { decision: 'revoke', decidedAt: '2026-12-01T10:05:00Z' }
            : undefined,
      ),
    });
    const text = JSON.stringify(message.blocks);
    expect(text).toContain(`✅ Kept at <!date^${Date.parse('2026-12-01T10:00:00Z') / 1000}^`);
    expect(text).toContain(`❌ Revoke requested at <!date^${Date.parse('2026-12-01T10:05:00Z') / 1000}^`);
    expect(decisionButtons(message.blocks).map((b) => b.action_id)).toEqual([
      actionIdFor('keep', items(3)[2]?.grant.grantId as string),
      actionIdFor('revoke', items(3)[2]?.grant.grantId as string),
    ]);
    expect(message.text).toContain('1 of 3 grants');
  });

  it('lists undecided grants first when 500 do not fit, and counts the rest', () => {
    // 480 decided, 20 open: every open grant is listed, the decided ones fill what is left.
    const decided = (i: number): ReviewItem['decision'] =>
      i < 480
        ? {
            decision: i % 4 === 0 ? 'revoke' : 'keep',
            decidedAt: `2026-12-01T10:${String(i % 60).padStart(2, '0')}:00Z`,
          }
        : undefined;
    const message = buildReviewMessage({ ...base, items: items(500, decided) });
    expect(message.blocks.length).toBeLessThanOrEqual(MAX_MESSAGE_BLOCKS);
    // 15 grants fit (a repository each): all of them open ones; every decided one is counted.
    expect(decisionButtons(message.blocks)).toHaveLength(30);
    expect(menus(message.blocks)).toHaveLength(15);
    const summary = JSON.stringify(message.blocks.at(-1));
    expect(summary).toMatch(/✅ \d+ kept, ❌ \d+ revoke requested/);
    const [, kept, revoked] = /✅ (\d+) kept, ❌ (\d+) revoke requested/.exec(summary) ?? [];
    expect(Number(kept) + Number(revoked)).toBe(480);
    expect(summary).toContain('5 more grants will appear');
    expect(validateBlocks(message.blocks).ok).toBe(true);
  });

  it('says how many more grants will appear when only some open ones fit', () => {
    const message = buildReviewMessage({ ...base, items: items(500) });
    expect(JSON.stringify(message.blocks.at(-1))).toContain('485 more grants will appear here as you decide');
  });

  it('removes every button once closed, and says why', () => {
    for (const reason of ['completed', 'window_closed'] as const) {
      for (const count of [1, 12, 500]) {
        const message = buildReviewMessage({
          ...base,
          items: items(count, (i) =>
            i % 2 === 0 ? { decision: 'keep', decidedAt: '2026-12-01T10:00:00Z' } : undefined,
          ),
          closed: { reason },
        });
        expect(elements(message.blocks)).toEqual([]);
        expect(message.blocks.length).toBeLessThanOrEqual(MAX_MESSAGE_BLOCKS);
        expect(validateBlocks(message.blocks).ok).toBe(true);
        const last = JSON.stringify(message.blocks.at(-1));
        expect(last).toContain(
          reason === 'completed' ? 'This review is closed' : 'closed when its window ended',
        );
      }
    }
  });

  it('refuses input it cannot turn into a valid message', () => {
    const [item] = items(1) as [ReviewItem];
    expect(() => buildReviewMessage({ ...base, campaignId: 'a#b', items: [item] })).toThrow(
      ReviewMessageError,
    );
    expect(() => buildReviewMessage({ ...base, items: [item, item] })).toThrow(/listed twice/);
    expect(() => buildReviewMessage({ ...base, dueAt: 'soon', items: [item] })).toThrow(ReviewMessageError);
    expect(() =>
      buildReviewMessage({
        ...base,
        items: [{ ...item, decision: { decision: 'keep', decidedAt: 'later' } }],
      }),
    ).toThrow(ReviewMessageError);
  });

  it('keeps a very long routing reason inside the section limit', () => {
    const [item] = items(1) as [ReviewItem];
    const message = buildReviewMessage({ ...base, items: [{ ...item, routingReason: '<&>'.repeat(2000) }] });
    expect(validateBlocks(message.blocks).ok).toBe(true);
  });
});

describe('parseButtonValue', () => {
  const grantId = grant(0).grantId;

  it('reads back what the builder wrote', () => {
    expect(parseButtonValue(buttonValueFor('2026-Q4', grantId))).toEqual({ campaignId: '2026-Q4', grantId });
  });

  it.each([
    ['not JSON', 'nope'],
    ['an array', '["2026-Q4"]'],
    ['an extra key', JSON.stringify({ c: '2026-Q4', g: grantId, t: 'token' })],
    ['a missing key', JSON.stringify({ c: '2026-Q4' })],
    ['a bad grant id', JSON.stringify({ c: '2026-Q4', g: 'g_xyz' })],
    ['a bad campaign id', JSON.stringify({ c: 'CAMPAIGN#2026', g: grantId })],
    ['a non-string id', JSON.stringify({ c: 2026, g: grantId })],
    ['non-canonical spacing', `{ "c": "2026-Q4", "g": "${grantId}" }`],
  ])('refuses %s', (_what, value) => {
    expect(() => parseButtonValue(value)).toThrow(MalformedRequestError);
  });
});

describe('parseReasonValue', () => {
  const grantId = grant(0).grantId;

  it.each(REASON_CODES)('reads back %s, with its decision', (reason) => {
    expect(parseReasonValue(reasonValueFor('2026-Q4', grantId, reason))).toEqual({
      campaignId: '2026-Q4',
      grantId,
      decision: reason.split(':')[0],
      reason,
    });
  });

  it.each([
    ['not JSON', 'nope'],
    ['an array', '["2026-Q4"]'],
    ['null', 'null'],
    ['a button value (no reason)', JSON.stringify({ c: '2026-Q4', g: grantId })],
    ['an unknown reason code', JSON.stringify({ c: '2026-Q4', g: grantId, r: 'revoke:bored' })],
    ['a bare decision', JSON.stringify({ c: '2026-Q4', g: grantId, r: 'revoke' })],
    [
      'a reason text instead of its code',
      JSON.stringify({ c: '2026-Q4', g: grantId, r: REASONS['keep:role'] }),
    ],
    ['an inherited property name', JSON.stringify({ c: '2026-Q4', g: grantId, r: 'constructor' })],
    ['a prototype key', JSON.stringify({ c: '2026-Q4', g: grantId, r: '__proto__' })],
    ['a non-string reason', JSON.stringify({ c: '2026-Q4', g: grantId, r: 1 })],
    ['an extra key', JSON.stringify({ c: '2026-Q4', g: grantId, r: 'keep:role', j: 'because' })],
    ['a bad grant id', JSON.stringify({ c: '2026-Q4', g: 'g_xyz', r: 'keep:role' })],
    ['a bad campaign id', JSON.stringify({ c: 'CAMPAIGN#2026', g: grantId, r: 'keep:role' })],
    ['another key order', JSON.stringify({ r: 'keep:role', c: '2026-Q4', g: grantId })],
    ['non-canonical spacing', `{"c": "2026-Q4","g":"${grantId}","r":"keep:role"}`],
    ['a value over 150 characters', JSON.stringify({ c: 'c'.repeat(100), g: grantId, r: 'keep:role' })],
  ])('refuses %s', (_what, value) => {
    expect(() => parseReasonValue(value)).toThrow(MalformedRequestError);
  });
});

describe('parseReasonActionId', () => {
  const grantId = grant(0).grantId;

  it('reads the grant', () => {
    expect(parseReasonActionId(reasonActionIdFor(grantId))).toEqual({ grantId });
  });

  it.each([`review_keep:${grantId}`, `review_reason:${grantId}x`, 'review_reason:g_0', ''])(
    'refuses %j',
    (actionId) => {
      expect(() => parseReasonActionId(actionId)).toThrow(MalformedRequestError);
    },
  );
});

describe('parseActionId', () => {
  const grantId = grant(0).grantId;

  it('reads the decision and the grant', () => {
    expect(parseActionId(`review_keep:${grantId}`)).toEqual({ decision: 'keep', grantId });
    expect(parseActionId(actionIdFor('revoke', grantId))).toEqual({ decision: 'revoke', grantId });
  });

  it.each(['review_maybe:g_0', `review_keep:${grantId}x`, `keep:${grantId}`, ''])(
    'refuses %j',
    (actionId) => {
      expect(() => parseActionId(actionId)).toThrow(MalformedRequestError);
    },
  );
});

describe('what a revoke says it will do', () => {
  const grant = (
    resourceType: 'organization' | 'team' | 'repository',
    entitlement: string,
    principalType: 'user' | 'team' = 'user',
  ) =>
    makeGrant({
      connector: 'github',
      grantKind:
        resourceType === 'team'
          ? 'team_membership'
          : resourceType === 'organization'
            ? 'organization_membership'
            : principalType === 'team'
              ? 'team_repository'
              : 'user_repository',
      resourceType,
      resource:
        resourceType === 'organization' ? 'acme' : resourceType === 'team' ? 'acme/platform' : 'acme/api',
      principalType,
      principal: principalType === 'team' ? 'acme/platform' : 'frank',
      entitlement,
      via: { kind: 'direct' },
    });

  it('says that revoking a membership removes the person, and revoking a role only demotes', () => {
    expect(revocationEffect(grant('organization', 'member'))).toMatch(
      /removed from acme, with their team memberships/,
    );
    expect(revocationEffect(grant('organization', 'owner'))).toBe(
      'frank is demoted from owner to member of acme.',
    );
    expect(revocationEffect(grant('team', 'member'))).toMatch(/removed from team acme\/platform/);
    expect(revocationEffect(grant('team', 'maintainer'))).toBe(
      'frank becomes a plain member of team acme/platform.',
    );
    expect(revocationEffect(grant('repository', 'write', 'team'))).toBe(
      'Team acme/platform loses write on acme/api.',
    );
    expect(revocationEffect(grant('repository', 'admin'))).toMatch(
      /frank loses admin on acme\/api \(directly\)/,
    );
  });
});
