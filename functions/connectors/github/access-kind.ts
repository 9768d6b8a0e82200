import type { Grant, GrantKind } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import type { GitHubContext } from './context';
import type { DirectCollaborator } from './effective-access';
import type { BasePermission } from './organization-base';
import type { MemberIndex } from './organization-members';
import type { CustomRoles } from './repository-access';
import type { TeamIndex } from './teams';

/** A repository as the first passes of a snapshot saw it; later passes walk this list. */
export interface RepositoryInfo {
  name: string;
  isPrivate: boolean;
  /** Null for an empty repository. */
  defaultBranch: string | null;
  /**
   * How many of each CI/CD record the repository has, read with GraphQL in the same pages as the
   * repositories: a pass skips its REST calls for a repository with none. Absent: unknown, read.
   */
  cicd?: { branchProtectionRules: number; rulesets: number; environments: number; deployKeys: number };
}

/** Whether a pass must read `what` of this repository over REST: unless GraphQL said it has none. */
export function mayHave(
  repository: RepositoryInfo,
  what: keyof NonNullable<RepositoryInfo['cicd']>,
): boolean {
  return repository.cicd === undefined || repository.cicd[what] > 0;
}

/**
 * What earlier passes of one snapshot learned, for later passes to link and flag their grants:
 * members and their roles, team memberships and access, the organisation's repositories.
 */
export interface SnapshotIndex {
  members: MemberIndex;
  teams: TeamIndex;
  repositories: RepositoryInfo[];
  /** The organisation's base permission, once read (effective access applies it to every member). */
  basePermission?: BasePermission;
  /**
   * Lower-cased repository name → its direct collaborators, for effective access. Filled by the
   * repository pass for the repositories it has read (a page of them in a resumable snapshot).
   */
  directCollaborators?: Map<string, Map<string, DirectCollaborator>>;
  /** The organisation's custom repository roles, read the first time a role that is not built in turns up. */
  customRoles?: CustomRoles;
  /**
   * Lower-cased repository name → true when its default branch requires pull request reviews
   * (branch protection or an active ruleset): then write access alone cannot push to it.
   * Filled by the branch protection and ruleset passes.
   */
  defaultBranchRequiresReview: Map<string, boolean>;
  /**
   * Lower-cased repository name → the default branch's classic protection beyond reviews: whether
   * pushes are restricted to an allow list, and whether admins are held to the rules too.
   * Absent: no classic protection. Filled by the branch protection pass.
   */
  defaultBranchRestrictions: Map<
    string,
    { reviewsRequired: boolean; pushRestricted: boolean; enforceAdmins: boolean }
  >;
  /**
   * Lower-cased repository name → resources (`acme/rulesets/7`, `acme/api/rulesets/42`) of the
   * active rulesets that require pull request reviews on its default branch. Filled by the
   * ruleset pass.
   */
  reviewRulesets: Map<string, string[]>;
  /**
   * Lower-cased repository name → its environments' names, as the environments pass listed them,
   * so the environment secrets pass does not list them again. Absent for a repository not listed.
   */
  environmentNames?: Map<string, string[]>;
}

/**
 * One kind (or a few related kinds) of GitHub access, in one file: how it is read in a snapshot,
 * removed at its source, and read again by any path. The connector runs the snapshot passes in
 * order and dispatches revoke and check by the grant's kind.
 */
/**
 * Which part of a kind a snapshot pass reads: what belongs to the organisation (read once), what
 * belongs to the repositories of `index.repositories` (a page of them at a time), or both.
 */
export type SnapshotScope = 'organization' | 'repositories' | 'all';

export interface GitHubAccessKind {
  readonly grantKinds: readonly GrantKind[];
  snapshot(context: GitHubContext, index: SnapshotIndex, scope?: SnapshotScope): AsyncGenerator<Grant>;
  revoke(context: GitHubContext, grant: Grant): Promise<RevokeResult>;
  check(context: GitHubContext, grant: Grant): Promise<CheckResult>;
}
