import type { KnownBlock } from '@slack/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from '../../../functions/core/errors';
import { type GrantKey, makeGrant } from '../../../functions/core/grant';
import {
  buildReviewMessage,
  campaignValueFor,
  describeContext,
  downgradeValueFor,
  MAX_MESSAGE_BLOCKS,
  parseCampaignActionId,
  parseCampaignValue,
  parseDowngradeValue,
  parseGrantActionId,
  type ReviewGrant,
  type ReviewItem,
  readReviewPage,
  reviewPolicy,
} from '../../../functions/slack/blocks';
import {
  DELEGATION_CALLBACK_ID,
  delegationModal,
  JUSTIFICATION_CALLBACK_ID,
  justificationModal,
  parsePrivateMetadata,
  privateMetadataFor,
} from '../../../functions/slack/modals';
import { interactiveElements, validateBlocks } from '../../../sandbox/slack/blockKit';
import { TEST_CONFIG } from '../../support/local-store';

const base = { campaignId: '2026-Q4', reviewerLogin: 'alice', dueAt: '2026-12-15T09:00:00Z' };
const policy = reviewPolicy(TEST_CONFIG);

function grant(
  repo: string,
  principal: string,
  entitlement = 'write',
  extra: Partial<ReviewGrant> = {},
): ReviewGrant {
  const key: GrantKey = {
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource: `acme/${repo}`,
    principalType: 'user',
    principal,
    entitlement,
    via: { kind: 'direct' },
  };
  return { ...makeGrant(key), ...extra };
}

const item = (g: ReviewGrant, decision?: ReviewItem['decision']): ReviewItem => ({
  grant: g,
  routingReason: 'owner of the repository',
  ...(decision ? { decision } : {}),
});

function elements(blocks: KnownBlock[]) {
  return blocks.flatMap((block) =>
    interactiveElements(block as unknown as Record<string, unknown>).map((e) => e.element),
  );
}
const ids = (blocks: KnownBlock[]) => blocks.map((b) => b.block_id ?? '');

describe('grants grouped by resource', () => {
  it('draws one line per resource above its grants, whatever order the grants come in', () => {
    const items = [
      item(grant('web', 'bob')),
      item(grant('api', 'carol')),
      item(grant('web', 'dave')),
      item(grant('api', 'erin')),
    ];
    const message = buildReviewMessage({ ...base, items, policy });
    expect(validateBlocks(message.blocks)).toEqual({ ok: true, blocks: message.blocks });
    const shape = ids(message.blocks).map((id) => id.replace(/:.*/, ''));
    expect(shape).toEqual([
      'header',
      'intro',
      'bulk',
      'res',
      'grant',
      'decide',
      'grant',
      'decide',
      'res',
      'grant',
      'decide',
      'grant',
      'decide',
    ]);
    const headers = message.blocks.filter((b) => b.block_id?.startsWith('res:'));
    expect(headers.map((h) => JSON.stringify(h))).toEqual([
      expect.stringContaining('acme/web'),
      expect.stringContaining('acme/api'),
    ]);
    const grantsUnder = ids(message.blocks).filter((id) => id.startsWith('grant:'));
    expect(grantsUnder).toEqual(
      [items[0], items[2], items[1], items[3]].map((i) => `grant:${i?.grant.grantId}`),
    );
  });

  it('never passes 50 blocks, lists the first open grants in task order, and Slack accepts it (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean()), {
          minLength: 1,
          maxLength: 120,
          size: 'max',
        }),
        fc.boolean(),
        (spec, closed) => {
          const items = spec.map(([repo, decided], index) =>
            item(
              grant(`repo-${repo}`, `user${index}`),
              decided ? { decision: 'keep', decidedAt: '2026-12-01T10:00:00Z' } : undefined,
            ),
          );
          const message = buildReviewMessage({
            ...base,
            items,
            policy,
            ...(closed ? { closed: { reason: 'window_closed' as const } } : {}),
          });
          expect(message.blocks.length).toBeLessThanOrEqual(MAX_MESSAGE_BLOCKS);
          expect(validateBlocks(message.blocks).ok).toBe(true);
          const listed = new Set(
            ids(message.blocks)
              .filter((id) => id.startsWith('grant:'))
              .map((id) => id.slice('grant:'.length)),
          );
          const open = items
            .filter((i) => !i.decision)
            .map((i) => i.grant.grantId)
            .sort();
          const openListed = open.filter((id) => listed.has(id));
          // The open grants listed are a prefix of the open ones in grant id order.
          expect(openListed).toEqual(open.slice(0, openListed.length));
          expect(openListed.length).toBeGreaterThan(Math.min(open.length, 1) - 1);
          // Every resource line is followed by its grants: none is drawn empty or twice.
          const res = ids(message.blocks).filter((id) => id.startsWith('res:'));
          expect(new Set(res).size).toBe(res.length);
          // Read back as a click would send it, the page is understood.
          expect(readReviewPage(message.blocks)?.rows.length).toBe(listed.size);
        },
      ),
      { seed: 42, numRuns: 150 },
    );
  });
});

describe('many resources', () => {
  it('lists 15 grants of 60 on 60 repositories (a resource line each) and 22 of 60 on one', () => {
    const spread = Array.from({ length: 60 }, (_, i) => item(grant(`repo-${i}`, `user${i}`)));
    const message = buildReviewMessage({ ...base, items: spread, policy });
    // Header, intro, whole-task buttons, 15 × (resource line, grant, buttons), summary: a 16th would pass 50.
    expect(message.blocks).toHaveLength(49);
    expect(ids(message.blocks).filter((id) => id.startsWith('grant:'))).toHaveLength(15);
    expect(ids(message.blocks).filter((id) => id.startsWith('res:'))).toHaveLength(15);
    const together = Array.from({ length: 60 }, (_, i) => item(grant('api', `user${i}`)));
    const one = buildReviewMessage({ ...base, items: together, policy });
    expect(ids(one.blocks).filter((id) => id.startsWith('grant:'))).toHaveLength(22);
    expect(ids(one.blocks).filter((id) => id.startsWith('res:'))).toHaveLength(1);
    expect(one.blocks.length).toBeLessThanOrEqual(MAX_MESSAGE_BLOCKS);
  });
});

describe('Keep all remaining', () => {
  it('counts what it keeps and what stays open for a reason, in a confirmation dialog', () => {
    const items = [
      item(grant('api', 'bob')),
      item(grant('api', 'carol')),
      item(grant('api', 'erin', 'admin')),
      item(grant('api', 'dave'), { decision: 'keep', decidedAt: '2026-12-01T10:00:00Z' }),
      item(grant('web', 'frank', 'write', { assignee: 'gina', assignedBy: 'delegation' })),
    ];
    const message = buildReviewMessage({ ...base, items, policy });
    const bulk = message.blocks.find((b) => b.block_id?.startsWith('bulk:'));
    expect(bulk?.block_id).toBe('bulk:2:1');
    const [keepAll, delegateAll] = elements([bulk as KnownBlock]);
    expect(keepAll).toMatchObject({
      action_id: 'review_keep_all:2026-Q4',
      value: campaignValueFor('2026-Q4'),
      confirm: {
        text: {
          text: 'Keep the 2 remaining grants? 1 grant that needs a reason stays open. Each is recorded as your Keep decision.',
        },
      },
    });
    expect(delegateAll).toMatchObject({ action_id: 'review_delegate_all:2026-Q4' });
    expect(readReviewPage(message.blocks)?.bulk).toEqual({ keepable: 2, needReason: 1 });
  });

  it('is left out once the review is closed, and offers only Hand over all when everything needs a reason', () => {
    const closed = buildReviewMessage({
      ...base,
      items: [item(grant('api', 'bob'))],
      policy,
      closed: { reason: 'cancelled' },
    });
    expect(ids(closed.blocks).some((id) => id.startsWith('bulk:'))).toBe(false);
    expect(JSON.stringify(closed.blocks)).toContain('cancelled');
    const onlyAdmins = buildReviewMessage({ ...base, items: [item(grant('api', 'erin', 'admin'))], policy });
    const bulk = onlyAdmins.blocks.find((b) => b.block_id?.startsWith('bulk:'));
    expect(elements([bulk as KnownBlock]).map((e) => e.action_id)).toEqual(['review_delegate_all:2026-Q4']);
  });
});

describe('a grant that needs a reason', () => {
  it('offers Keep… (the modal) instead of Keep, and no ready-made Keep reason', () => {
    const admin = grant('api', 'erin', 'admin');
    const message = buildReviewMessage({ ...base, items: [item(admin)], policy });
    const decide = message.blocks.find((b) => b.block_id === `decide:${admin.grantId}`) as KnownBlock;
    const found = elements([decide]);
    expect(found.map((e) => e.action_id)).toEqual([
      `review_justify:${admin.grantId}`,
      `review_revoke:${admin.grantId}`,
      `review_downgrade:${admin.grantId}`,
      `review_delegate:${admin.grantId}`,
      `review_reason:${admin.grantId}`,
    ]);
    expect(found.some((e) => e.action_id === `review_keep:${admin.grantId}`)).toBe(false);
    const menu = found.at(-1) as { options: Array<{ value: string }> };
    expect(menu.options.map((o) => JSON.parse(o.value).r)).toEqual([
      'revoke:unused',
      'revoke:left',
      'revoke:excessive',
    ]);
    expect(JSON.stringify(message.blocks)).toContain('Keeping this needs a written reason (admin access)');
    expect(readReviewPage(message.blocks)?.rows[0]?.needsReason).toBe(true);
  });

  it('offers the plain Keep when the configuration needs no reason', () => {
    const admin = grant('api', 'erin', 'admin');
    const message = buildReviewMessage({
      ...base,
      items: [item(admin)],
      policy: { ...policy, justificationRequiredFor: [] },
    });
    expect(elements(message.blocks).map((e) => e.action_id)).toContain(`review_keep:${admin.grantId}`);
    expect(JSON.stringify(message.blocks)).not.toContain('needs a written reason');
  });
});

describe('downgrade', () => {
  it('offers exactly the entitlements the source can lower the grant to, each value read back', () => {
    const admin = grant('api', 'erin', 'admin');
    const message = buildReviewMessage({ ...base, items: [item(admin)], policy });
    const select = elements(message.blocks).find((e) => e.type === 'static_select') as {
      options: Array<{ value: string; text: { text: string } }>;
      confirm: unknown;
    };
    expect(select.options.map((o) => parseDowngradeValue(o.value).to)).toEqual([
      'maintain',
      'write',
      'triage',
      'read',
    ]);
    expect(select.confirm).toBeDefined();
    const writer = buildReviewMessage({ ...base, items: [item(grant('api', 'bob'))], policy });
    expect(elements(writer.blocks).some((e) => e.type === 'static_select')).toBe(false);
  });

  it('shows the downgrade on the outcome line', () => {
    const message = buildReviewMessage({
      ...base,
      items: [
        item(grant('api', 'erin', 'admin'), {
          decision: 'downgrade',
          downgradeTo: 'write',
          decidedAt: '2026-12-01T10:00:00Z',
          decidedBy: 'carol',
        }),
      ],
      policy,
    });
    expect(JSON.stringify(message.blocks)).toContain('Downgrade to *write* requested by carol');
    expect(ids(message.blocks)).toContain(`outcome:${grant('api', 'erin', 'admin').grantId}:downgrade`);
  });

  it.each([
    ['extra key', JSON.stringify({ c: '2026-Q4', d: 'write', g: `g_${'0'.repeat(32)}`, x: 1 })],
    ['not canonical', JSON.stringify({ g: `g_${'0'.repeat(32)}`, c: '2026-Q4', d: 'write' })],
    ['an entitlement with markup', downgradeValueFor('2026-Q4', `g_${'0'.repeat(32)}`, '<admin>')],
  ])('refuses a downgrade value with %s', (_name, value) => {
    expect(() => parseDowngradeValue(value)).toThrow(MalformedRequestError);
  });
});

describe('context and hand-over', () => {
  it.each([
    [{ newSinceLastCampaign: true }, 'new since the last review'],
    [
      {
        newSinceLastCampaign: false,
        lastCampaignId: '2026-Q3',
        lastDecision: 'keep' as const,
        lastDecidedBy: 'bob',
        lastDecidedAt: '2026-09-02T10:00:00Z',
      },
      'kept by bob on 2026-09-02 in the last review',
    ],
    [
      {
        newSinceLastCampaign: true,
        lastActiveAt: '2026-11-20T08:00:00Z',
        lastActiveSource: 'GitHub audit log',
      },
      'new since the last review · last active 2026-11-20 (GitHub audit log)',
    ],
    [{ newSinceLastCampaign: false, lastCampaignId: '2026-Q3' }, 'in the last review, without a decision'],
  ])('says %j as "%s"', (context, text) => {
    expect(describeContext(context)).toBe(text);
    const message = buildReviewMessage({
      ...base,
      items: [item(grant('api', 'bob', 'write', { context }))],
      policy,
    });
    expect(JSON.stringify(message.blocks)).toContain(`Context: ${text}`);
  });

  it('shows a grant handed to someone else without buttons, and the assignee gets the buttons', () => {
    const handed = grant('api', 'bob', 'write', { assignee: 'carol', assignedBy: 'delegation' });
    const mine = buildReviewMessage({ ...base, items: [item(handed)], policy });
    expect(elements(mine.blocks).filter((e) => String(e.action_id).endsWith(handed.grantId))).toEqual([]);
    expect(JSON.stringify(mine.blocks)).toContain('Handed over to *carol*');
    expect(readReviewPage(mine.blocks)?.rows[0]?.handedOver).toBe(true);
    const theirs = buildReviewMessage({ ...base, reviewerLogin: 'carol', items: [item(handed)], policy });
    expect(elements(theirs.blocks).map((e) => e.action_id)).toContain(`review_keep:${handed.grantId}`);
  });
});

describe('action ids and modal metadata', () => {
  const grantId = `g_${'a'.repeat(32)}`;
  it('reads per-grant and whole-task action ids, and refuses others', () => {
    expect(parseGrantActionId(`review_justify:${grantId}`, 'justify')).toEqual({ grantId });
    expect(() => parseGrantActionId(`review_delegate:${grantId}`, 'justify')).toThrow(MalformedRequestError);
    expect(parseCampaignActionId('review_keep_all:2026-Q4', 'keep_all')).toEqual({ campaignId: '2026-Q4' });
    expect(() => parseCampaignActionId('review_keep_all:20#26', 'keep_all')).toThrow(MalformedRequestError);
    expect(() => parseCampaignValue('{"c":"2026-Q4","g":"x"}')).toThrow(MalformedRequestError);
  });

  it('carries only the campaign and grant ids in a modal, and refuses tampered metadata', () => {
    const admin = grant('api', 'erin', 'admin');
    const modal = justificationModal('2026-Q4', admin, ['admin']);
    expect(modal.callback_id).toBe(JUSTIFICATION_CALLBACK_ID);
    expect(JSON.parse(String(modal.private_metadata))).toEqual({ c: '2026-Q4', g: admin.grantId });
    expect(validateBlocks(modal.blocks as KnownBlock[], 'modal').ok).toBe(true);
    const all = delegationModal('2026-Q4', { count: 3 });
    expect(all.callback_id).toBe(DELEGATION_CALLBACK_ID);
    expect(parsePrivateMetadata(all.private_metadata, false)).toEqual({ campaignId: '2026-Q4' });
    expect(validateBlocks(all.blocks as KnownBlock[], 'modal').ok).toBe(true);
    for (const tampered of [
      undefined,
      'not json',
      '{"c":"2026-Q4"}',
      JSON.stringify({ g: admin.grantId, c: '2026-Q4' }),
      JSON.stringify({ c: '2026-Q4', g: admin.grantId, token: 'x' }),
      JSON.stringify({ c: '2026-Q4', g: 'g_1' }),
      '{"c":"2026-Q4","g":"g_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","__proto__":{}}',
    ]) {
      expect(() => parsePrivateMetadata(tampered, true)).toThrow(MalformedRequestError);
    }
    expect(privateMetadataFor({ campaignId: '2026-Q4', grantId: admin.grantId })).toBe(
      modal.private_metadata,
    );
  });
});
