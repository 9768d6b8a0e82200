import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JUSTIFIED_GRANT_CLASSES, type JustifiedGrantClass } from '../../../functions/core/config';
import { GRANT_FLAGS, GRANT_KINDS, type GrantFlag, type GrantKind } from '../../../functions/core/grant';
import {
  JUSTIFICATION_MAX_LENGTH,
  JUSTIFICATION_MIN_LENGTH,
  type JustifiableGrant,
  JustificationTextError,
  justificationReasons,
  justifiedClassesOf,
  normalizeJustification,
} from '../../../functions/core/justification';

const grant = (
  grantKind: GrantKind,
  entitlement: string,
  flags: GrantFlag[] = [],
  raw: Record<string, unknown> = {},
): JustifiableGrant => ({ grantKind, entitlement, flags, raw });

describe('which grants need a reason', () => {
  it.each<[string, JustifiableGrant, JustifiedGrantClass[]]>([
    ['a repository admin', grant('user_repository', 'admin'), ['admin']],
    ['a team admin on a repository', grant('team_repository', 'admin'), ['admin']],
    ['the org base permission admin', grant('organization_base_permission', 'admin'), ['admin']],
    [
      'a custom role based on admin',
      grant('user_repository', 'release-manager', [], { baseRole: 'admin' }),
      ['admin'],
    ],
    ['a repository writer', grant('user_repository', 'write'), []],
    ['a maintainer', grant('user_repository', 'maintain'), []],
    ['an org owner', grant('organization_membership', 'owner'), ['owner']],
    ['an invitation to be owner', grant('organization_invitation', 'owner'), ['owner']],
    ['an org member', grant('organization_membership', 'member'), []],
    [
      'a flagged outside collaborator',
      grant('user_repository', 'read', ['outside_collaborator']),
      ['outside_collaborator'],
    ],
    [
      'an outside collaborator only in raw',
      grant('user_repository', 'read', [], { outsideCollaborator: true }),
      ['outside_collaborator'],
    ],
    ['a deploy key that writes', grant('deploy_key', 'write'), ['deploy_key_write']],
    ['a read-only deploy key', grant('deploy_key', 'read'), []],
    [
      'a separation-of-duties flag',
      grant('branch_protection_bypass', 'push', ['separation_of_duties']),
      ['separation_of_duties'],
    ],
    [
      'an outside admin',
      grant('user_repository', 'admin', ['outside_collaborator']),
      ['admin', 'outside_collaborator'],
    ],
  ])('%s', (_name, subject, expected) => {
    expect(justifiedClassesOf(subject)).toEqual(expected);
    expect(justificationReasons(subject, JUSTIFIED_GRANT_CLASSES)).toEqual(expected);
    expect(justificationReasons(subject, [])).toEqual([]);
  });

  it('needs a reason exactly for the configured classes the grant falls in (property)', () => {
    const arbitraryGrant = fc.record({
      grantKind: fc.constantFrom(...GRANT_KINDS),
      entitlement: fc.constantFrom(
        'admin',
        'owner',
        'write',
        'read',
        'maintain',
        'member',
        'maintainer',
        'push',
      ),
      flags: fc.uniqueArray(fc.constantFrom(...GRANT_FLAGS)),
      raw: fc.record({ outsideCollaborator: fc.boolean() }, { requiredKeys: [] }),
    });
    fc.assert(
      fc.property(arbitraryGrant, fc.subarray([...JUSTIFIED_GRANT_CLASSES]), (subject, required) => {
        const all = justifiedClassesOf(subject);
        const needed = justificationReasons(subject, required);
        expect(needed).toEqual(all.filter((kind) => required.includes(kind)));
        // Each class follows from the grant's own facts, never from anything else.
        expect(all.includes('separation_of_duties')).toBe(subject.flags.includes('separation_of_duties'));
        expect(all.includes('outside_collaborator')).toBe(
          subject.flags.includes('outside_collaborator') || subject.raw.outsideCollaborator === true,
        );
        expect(all.includes('deploy_key_write')).toBe(
          subject.grantKind === 'deploy_key' && subject.entitlement === 'write',
        );
        expect(all.includes('owner')).toBe(
          subject.entitlement === 'owner' &&
            (subject.grantKind === 'organization_membership' ||
              subject.grantKind === 'organization_invitation'),
        );
      }),
      { seed: 10, numRuns: 300 },
    );
  });
});

describe('normalizeJustification', () => {
  it('trims and keeps line breaks as \\n', () => {
    expect(normalizeJustification('  on call for the\r\ndeploy pipeline  ')).toBe(
      'on call for the\ndeploy pipeline',
    );
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['too short', 'needed', `at least ${JUSTIFICATION_MIN_LENGTH}`],
    ['only spaces', ' '.repeat(40), `at least ${JUSTIFICATION_MIN_LENGTH}`],
    ['too long', 'x'.repeat(JUSTIFICATION_MAX_LENGTH + 1), `under ${JUSTIFICATION_MAX_LENGTH}`],
    ['control characters', 'needed for\u0000 the release', 'control characters'],
    ['a line separator', 'needed for\u2028the release', 'control characters'],
  ])('refuses a reason that is %s', (_name, text, message) => {
    expect(() => normalizeJustification(text)).toThrow(JustificationTextError);
    expect(() => normalizeJustification(text)).toThrow(message);
  });

  it('accepts exactly the shortest and the longest length, counted in characters not UTF-16 units', () => {
    expect(normalizeJustification('x'.repeat(JUSTIFICATION_MIN_LENGTH))).toHaveLength(
      JUSTIFICATION_MIN_LENGTH,
    );
    expect(normalizeJustification('🔑'.repeat(JUSTIFICATION_MAX_LENGTH))).toHaveLength(
      2 * JUSTIFICATION_MAX_LENGTH,
    );
    expect(() => normalizeJustification('x'.repeat(JUSTIFICATION_MIN_LENGTH - 1))).toThrow(
      JustificationTextError,
    );
  });
});
