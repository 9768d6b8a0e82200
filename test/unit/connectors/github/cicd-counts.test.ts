import { describe, expect, it } from 'vitest';
import { mayHave } from '../../../../functions/connectors/github/access-kind';
import type { RepositoryNode } from '../../../../functions/connectors/github/queries';
import { cicdCountsOf } from '../../../../functions/connectors/github/repository-access';

const node = (
  viewerPermission: RepositoryNode['viewerPermission'],
  rulesets: number | null = 0,
): RepositoryNode => ({
  name: 'api',
  isPrivate: true,
  defaultBranchRef: { name: 'main' },
  viewerPermission,
  branchProtectionRules: { totalCount: 0 },
  rulesets: rulesets === null ? null : { totalCount: rulesets },
  environments: { totalCount: 2 },
  deployKeys: { totalCount: 0 },
  collaborators: null,
});

describe('which REST reads GraphQL counts let a snapshot skip', () => {
  it('trusts the counts only where the token administers the repository', () => {
    const admin = { name: 'api', isPrivate: true, defaultBranch: 'main', ...cicdCountsOf(node('ADMIN')) };
    expect(mayHave(admin, 'deployKeys')).toBe(false);
    expect(mayHave(admin, 'branchProtectionRules')).toBe(false);
    expect(mayHave(admin, 'environments')).toBe(true);
    // GitHub counts 0 protection rules and deploy keys for a token that may not administer them.
    for (const permission of ['WRITE', 'MAINTAIN', null] as const) {
      const writer = {
        name: 'api',
        isPrivate: true,
        defaultBranch: 'main',
        ...cicdCountsOf(node(permission)),
      };
      expect(mayHave(writer, 'deployKeys'), String(permission)).toBe(true);
      expect(mayHave(writer, 'branchProtectionRules'), String(permission)).toBe(true);
    }
  });

  it('reads rulesets when GitHub would not count them', () => {
    const hidden = {
      name: 'api',
      isPrivate: true,
      defaultBranch: 'main',
      ...cicdCountsOf(node('ADMIN', null)),
    };
    expect(mayHave(hidden, 'rulesets')).toBe(true);
  });
});
