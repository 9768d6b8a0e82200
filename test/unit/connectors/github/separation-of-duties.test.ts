import { describe, expect, it } from 'vitest';
import type { SnapshotIndex } from '../../../../functions/connectors/github/access-kind';
import {
  branchBypassKey,
  environmentReviewerKey,
  orgMembershipKey,
  rulesetBypassKey,
  teamMembershipKey,
  userRepositoryKey,
} from '../../../../functions/connectors/github/keys';
import { SeparationOfDuties } from '../../../../functions/connectors/github/separation-of-duties';
import { type Grant, makeGrant, type RepositoryPermission } from '../../../../functions/core/grant';

interface Gates {
  /** Classic protection of main; absent: unprotected. */
  classic?: { reviewsRequired: boolean; pushRestricted: boolean; enforceAdmins: boolean };
  /** Rulesets requiring review on main. */
  rulesets?: string[];
}

function index(gates: Gates): SnapshotIndex {
  return {
    members: new Map(),
    teams: { members: new Set(), repositories: new Map() },
    repositories: [{ name: 'api', isPrivate: true, defaultBranch: 'main' }],
    defaultBranchRequiresReview: new Map([
      ['api', (gates.classic?.reviewsRequired ?? false) || (gates.rulesets ?? []).length > 0],
    ]),
    defaultBranchRestrictions: new Map(gates.classic ? [['api', gates.classic]] : []),
    reviewRulesets: new Map(gates.rulesets ? [['api', gates.rulesets]] : []),
  };
}

const REVIEWED = { reviewsRequired: true, pushRestricted: false, enforceAdmins: true };

const approver = (
  principalType: 'user' | 'team',
  principal: string,
  preventSelfReview = false,
  deploymentBranches: unknown = 'protected',
) =>
  makeGrant(environmentReviewerKey('acme', 'api', 'production', principalType, principal), {
    raw: { preventSelfReview, deploymentBranches, environment: 'production' },
  });
const access = (login: string, permission: RepositoryPermission = 'write') =>
  makeGrant(userRepositoryKey('acme', 'api', login, permission, { kind: 'direct' }));
const member = (login: string) => makeGrant(teamMembershipKey('acme', 'platform', login, 'member'));
const owner = (login: string) => makeGrant(orgMembershipKey('acme', login, 'owner'));
const onMain = (login: string, entitlement: 'push' | 'bypass_pull_request_reviews', branch = 'main') =>
  makeGrant(branchBypassKey('acme', 'api', branch, 'user', login, entitlement));
const rulesetBypass = (principalType: 'team' | 'role', principal: string) =>
  makeGrant(rulesetBypassKey('acme/rulesets/9', principalType, principal, 'always'), {
    raw: { rulesetName: 'main-needs-review' },
  });

async function run(gates: Gates, grants: Grant[]) {
  const pass = new SeparationOfDuties(index(gates));
  const streamed: Grant[] = [];
  for (const grant of grants) if (!pass.observe(grant)) streamed.push(grant);
  const held: Grant[] = [];
  for await (const grant of pass.flagged()) held.push(grant);
  return { streamed, held };
}

const flagged = (grants: Grant[]) =>
  grants
    .filter((g) => g.flags.includes('separation_of_duties'))
    .map((g) => `${g.grantKind} ${g.principal}`)
    .sort();

describe('separation of duties across grant kinds', () => {
  it('flags an approver who can write to an unprotected default branch, and says how', async () => {
    const { streamed, held } = await run({}, [
      access('bob'),
      approver('user', 'bob'),
      approver('user', 'carol'),
    ]);
    expect(streamed.map((g) => g.grantKind)).toEqual(['user_repository']);
    expect(flagged(held)).toEqual(['environment_reviewer bob']);
    expect(held.find((g) => g.principal === 'bob')?.raw.separationOfDuties).toEqual([
      'bob: write access, main has no branch protection',
    ]);
  });

  it('does not flag when reviews are required, self-review is prevented, or the approver only reads', async () => {
    expect(
      flagged((await run({ classic: REVIEWED }, [access('bob'), approver('user', 'bob')])).held),
    ).toEqual([]);
    expect(flagged((await run({}, [access('bob'), approver('user', 'bob', true)])).held)).toEqual([]);
    expect(flagged((await run({}, [access('bob', 'read'), approver('user', 'bob')])).held)).toEqual([]);
  });

  it('flags the approval and the review bypass that lets the approver merge unreviewed', async () => {
    const { held } = await run({ classic: REVIEWED }, [
      access('bob'),
      onMain('bob', 'bypass_pull_request_reviews'),
      onMain('bob', 'push'),
      approver('user', 'bob'),
    ]);
    // A push allowance does not skip required reviews: only the bypass is part of the finding.
    expect(flagged(held)).toEqual(['branch_protection_bypass bob', 'environment_reviewer bob']);
    expect(held.find((g) => g.entitlement === 'bypass_pull_request_reviews')?.raw.separationOfDuties).toEqual(
      ['bob: also approves deployments of acme/api:production'],
    );
  });

  it('counts a push allowance where reviews are not required but pushes are restricted', async () => {
    const restricted = { reviewsRequired: false, pushRestricted: true, enforceAdmins: true };
    expect(
      flagged(
        (await run({ classic: restricted }, [access('bob'), onMain('bob', 'push'), approver('user', 'bob')]))
          .held,
      ),
    ).toEqual(['branch_protection_bypass bob', 'environment_reviewer bob']);
    // Not on the allow list: write access alone cannot push there.
    expect(
      flagged((await run({ classic: restricted }, [access('bob'), approver('user', 'bob')])).held),
    ).toEqual([]);
  });

  it('treats admins as exempt from classic protection unless it is enforced for admins', async () => {
    const exemption = makeGrant(branchBypassKey('acme', 'api', 'main', 'role', 'admin', 'bypass_protection'));
    const grants = [access('alice', 'admin'), exemption, approver('user', 'alice')];
    // The exemption grant is what opens the way: it is flagged with the approval.
    expect(flagged((await run({ classic: { ...REVIEWED, enforceAdmins: false } }, grants)).held)).toEqual([
      'branch_protection_bypass admin',
      'environment_reviewer alice',
    ]);
    expect(flagged((await run({ classic: REVIEWED }, grants)).held)).toEqual([]);
  });

  it('ignores a bypass of another branch than the default one', async () => {
    const { held } = await run({ classic: REVIEWED }, [
      access('bob'),
      onMain('bob', 'bypass_pull_request_reviews', 'release'),
      approver('user', 'bob'),
    ]);
    expect(flagged(held)).toEqual([]);
  });

  it('requires passing a reviewing ruleset too: as a member of a bypass team, or an owner by organization_admin', async () => {
    const teamBypass = rulesetBypass('team', 'acme/platform');
    const viaTeam = await run({ rulesets: ['acme/rulesets/9'] }, [
      member('carol'),
      access('carol'),
      teamBypass,
      approver('team', 'acme/platform'),
    ]);
    expect(flagged(viaTeam.held)).toEqual([
      'environment_reviewer acme/platform',
      'ruleset_bypass acme/platform',
    ]);
    expect(viaTeam.held.find((g) => g.grantKind === 'environment_reviewer')?.raw.separationOfDuties).toEqual([
      'carol: write access, main has no branch protection, bypasses ruleset main-needs-review',
    ]);
    // Without a place on the ruleset's bypass list the review cannot be skipped.
    expect(
      flagged(
        (await run({ rulesets: ['acme/rulesets/9'] }, [access('carol'), approver('user', 'carol')])).held,
      ),
    ).toEqual([]);
    const adminBypass = rulesetBypass('role', 'organization_admin');
    const viaOwner = await run({ rulesets: ['acme/rulesets/9'] }, [
      owner('alice'),
      access('alice', 'admin'),
      adminBypass,
      approver('user', 'alice'),
    ]);
    expect(flagged(viaOwner.held)).toEqual([
      'environment_reviewer alice',
      'ruleset_bypass organization_admin',
    ]);
  });

  it('counts a writer when the environment deploys from any branch, or from branches other than the default', async () => {
    const writer = [access('bob'), onMain('bob', 'push')];
    expect(
      flagged((await run({ classic: REVIEWED }, [...writer, approver('user', 'bob', false, 'any')])).held),
    ).toEqual(['environment_reviewer bob']);
    const patterns = await run({ classic: REVIEWED }, [
      ...writer,
      approver('user', 'bob', false, ['main', 'release/*']),
    ]);
    expect(patterns.held.find((g) => g.grantKind === 'environment_reviewer')?.raw.separationOfDuties).toEqual(
      ['bob: write access, and production deploys from release/*'],
    );
    // Only the default branch may deploy, and it needs reviews bob cannot skip.
    expect(
      flagged((await run({ classic: REVIEWED }, [...writer, approver('user', 'bob', false, ['main'])])).held),
    ).toEqual([]);
  });

  it('needs a push allowance as well as the review bypass where pushes are restricted', async () => {
    const restricted = { ...REVIEWED, pushRestricted: true };
    const bypassOnly = [access('bob'), onMain('bob', 'bypass_pull_request_reviews'), approver('user', 'bob')];
    expect(flagged((await run({ classic: restricted }, bypassOnly)).held)).toEqual([]);
    expect(
      flagged((await run({ classic: restricted }, [...bypassOnly, onMain('bob', 'push')])).held),
    ).toEqual(['branch_protection_bypass bob', 'branch_protection_bypass bob', 'environment_reviewer bob']);
  });

  it('counts a writer by custom role, and the members of a child team of a reviewing team', async () => {
    const custom = makeGrant(userRepositoryKey('acme', 'api', 'ivan', 'releaser', { kind: 'direct' }), {
      raw: { baseRole: 'write' },
    });
    expect(flagged((await run({}, [custom, approver('user', 'ivan', false, 'any')])).held)).toEqual([
      'environment_reviewer ivan',
    ]);
    const child = makeGrant(teamMembershipKey('acme', 'sre', 'hank', 'member'), {
      raw: { parentTeam: 'acme/platform' },
    });
    const { held } = await run({}, [child, access('hank'), approver('team', 'acme/platform', false, 'any')]);
    expect(flagged(held)).toEqual(['environment_reviewer acme/platform']);
    expect(held[0]?.raw.separationOfDuties).toEqual([
      'hank: write access, and production deploys from any branch',
    ]);
  });
});
