import { describe, expect, it } from 'vitest';
import type { SnapshotIndex } from '../../../../functions/connectors/github/access-kind';
import {
  branchBypassKey,
  environmentReviewerKey,
  rulesetBypassKey,
  teamMembershipKey,
  userRepositoryKey,
} from '../../../../functions/connectors/github/keys';
import { SeparationOfDuties } from '../../../../functions/connectors/github/separation-of-duties';
import { type Grant, makeGrant } from '../../../../functions/core/grant';

function index(requiresReview: boolean): SnapshotIndex {
  return {
    members: new Map(),
    teams: { members: new Set(), repositories: new Map() },
    repositories: [{ name: 'api', isPrivate: true, defaultBranch: 'main' }],
    defaultBranchRequiresReview: new Map([['api', requiresReview]]),
  };
}

const approver = (principalType: 'user' | 'team', principal: string, preventSelfReview = false) =>
  makeGrant(environmentReviewerKey('acme', 'api', 'production', principalType, principal), {
    raw: { preventSelfReview },
  });
const writer = (login: string, permission: 'read' | 'write' | 'admin' = 'write') =>
  makeGrant(userRepositoryKey('acme', 'api', login, permission, { kind: 'direct' }));
const member = (login: string) => makeGrant(teamMembershipKey('acme', 'platform', login, 'member'));
const bypass = (login: string, branch = 'main') =>
  makeGrant(branchBypassKey('acme', 'api', branch, 'user', login, 'bypass_pull_request_reviews'));

async function run(requiresReview: boolean, grants: Grant[]) {
  const pass = new SeparationOfDuties(index(requiresReview));
  const streamed: Grant[] = [];
  for (const grant of grants) if (!pass.observe(grant)) streamed.push(grant);
  const held: Grant[] = [];
  for await (const grant of pass.flagged()) held.push(grant);
  return { streamed, held };
}

const flagged = (grants: Grant[]) =>
  grants.filter((g) => g.flags.includes('separation_of_duties')).map((g) => `${g.grantKind} ${g.principal}`);

describe('separation of duties across grant kinds', () => {
  it('flags an approver who can also write to an unreviewed default branch', async () => {
    const { streamed, held } = await run(false, [
      writer('bob'),
      approver('user', 'bob'),
      approver('user', 'carol'),
    ]);
    expect(streamed.map((g) => g.grantKind)).toEqual(['user_repository']);
    expect(flagged(held)).toEqual(['environment_reviewer bob']);
    expect(held.find((g) => g.principal === 'bob')?.raw.separationOfDuties).toEqual([
      'bob: write access to an unreviewed default branch',
    ]);
  });

  it('does not flag a writer when the default branch needs reviews, nor when self-review is prevented', async () => {
    expect(flagged((await run(true, [writer('bob'), approver('user', 'bob')])).held)).toEqual([]);
    expect(flagged((await run(false, [writer('bob'), approver('user', 'bob', true)])).held)).toEqual([]);
    expect(flagged((await run(false, [writer('bob', 'read'), approver('user', 'bob')])).held)).toEqual([]);
  });

  it('flags both the approval and the bypass when review is required but bob may bypass it', async () => {
    const { held } = await run(true, [writer('bob'), bypass('bob'), approver('user', 'bob')]);
    expect(flagged(held).sort()).toEqual(['branch_protection_bypass bob', 'environment_reviewer bob']);
  });

  it('ignores a bypass of another branch than the default one', async () => {
    const { held } = await run(true, [bypass('bob', 'release'), approver('user', 'bob')]);
    expect(flagged(held)).toEqual([]);
  });

  it('reaches people through a reviewing team, and through ruleset bypass of the default branch', async () => {
    const ruleset = makeGrant(rulesetBypassKey('acme/api/rulesets/9', 'team', 'acme/platform', 'always'), {
      raw: { targetsDefaultBranch: true },
    });
    const { held } = await run(true, [member('carol'), ruleset, approver('team', 'acme/platform')]);
    expect(flagged(held).sort()).toEqual([
      'environment_reviewer acme/platform',
      'ruleset_bypass acme/platform',
    ]);
    const notDefault = { ...ruleset, raw: { targetsDefaultBranch: false } };
    expect(
      flagged((await run(true, [member('carol'), notDefault, approver('team', 'acme/platform')])).held),
    ).toEqual([]);
  });
});
