import {
  comparablePermission,
  type Grant,
  permissionAtLeast,
  permissionRank,
  repositoryOfResource,
  withFlag,
} from '../../core/grant';
import { withChildTeamMembers } from '../../core/routing';
import type { SnapshotIndex } from './access-kind';

/** The repository (lower-cased `org/repo`) a grant's resource belongs to, if any. */
const repositoryOf = (grant: Grant) => repositoryOfResource(grant)?.toLowerCase();

const HELD_KINDS = new Set<Grant['grantKind']>([
  'environment_reviewer',
  'branch_protection_bypass',
  'ruleset_bypass',
]);

/** One way a person gets code onto a default branch without someone else's review. */
interface PushPath {
  how: string;
  /** The bypass grants this path uses (flagged with the finding). */
  grants: Grant[];
}

/**
 * CC8's segregation of duties, checked across kinds: someone who can get code onto a repository's
 * default branch on their own and can also approve deployments of that repository to an
 * environment that lets approvers approve their own deployments can ship code nobody else looked at.
 *
 * Getting code onto the default branch unreviewed means passing every gate on it, as GitHub
 * enforces them: classic branch protection (no required reviews and not push-restricted, or listed
 * on its push allowances when reviews are not required, or on its review bypass list, or an admin
 * where admins are exempt) and every active ruleset that requires reviews there (as one of its bypass
 * actors: a team, a role such as organization_admin or a repository role). Only people with write
 * access can push at all.
 *
 * The snapshot shows every grant to `observe`; environment reviewer and bypass grants are held
 * (they are few) and come back from `flagged` at the end with `separation_of_duties` set where it
 * applies. Repository access streams on; only each person's strongest permission is remembered.
 */
/** Findings on an organisation-wide grant (an org ruleset's bypass actor), kept across pages. */
export interface OrganizationFinding {
  /** The first few, in the order found. */
  notes: string[];
  /** How many there were in all. */
  count: number;
}

/** Notes kept per organisation-wide grant: the finding is the flag; the notes are examples. */
const NOTES_KEPT = 3;

export class SeparationOfDuties {
  /** Held grants of the repositories being read (a page of them); flagged by `flagPage`. */
  private held: Grant[] = [];
  /** Held grants of the organisation (org ruleset bypass actors), flagged once at the end. */
  private readonly organizationHeld: Grant[] = [];
  /** Findings on organisation-wide grants, by grant id: what a resumed snapshot carries along. */
  readonly organizationFindings = new Map<string, OrganizationFinding>();
  /** Lower-cased `org/repo` → login → strongest permission, by any path. */
  private readonly permissions = new Map<string, Map<string, string>>();
  /** Lower-cased `org/slug` → logins (immediate members). */
  private readonly teamMembers = new Map<string, Set<string>>();
  private readonly owners = new Set<string>();
  /** Lower-cased `org/slug` → its parent team: a child team's members act for the parent too. */
  private readonly parents = new Map<string, string>();
  private expandedTeams: Map<string, Set<string>> | undefined;
  private defaultBranches: Map<string, string | null> | undefined;
  /** Lower-cased `org/repo` → login → custom role names held there (their base role is in `permissions`). */
  private readonly customRoles = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly index: SnapshotIndex) {}

  /** Notes what the grant says; true when the grant is held back until `flagged`. */
  observe(grant: Grant): boolean {
    if (grant.grantKind === 'team_membership' && grant.entitlement === 'member') {
      const team = grant.resource.toLowerCase();
      if (!this.teamMembers.has(team)) this.teamMembers.set(team, new Set());
      this.teamMembers.get(team)?.add(grant.principal.toLowerCase());
      if (typeof grant.raw.parentTeam === 'string')
        this.parents.set(team, grant.raw.parentTeam.toLowerCase());
    }
    if (grant.grantKind === 'organization_membership' && grant.entitlement === 'owner') {
      this.owners.add(grant.principal.toLowerCase());
    }
    const permission = comparablePermission(grant);
    if (grant.grantKind === 'user_repository' && permission) {
      const repository = grant.resource.toLowerCase();
      const held = this.permissions.get(repository) ?? new Map<string, string>();
      const login = grant.principal.toLowerCase();
      const before = held.get(login);
      if (before === undefined || permissionRank(permission) > permissionRank(before))
        held.set(login, permission);
      this.permissions.set(repository, held);
      if (permission !== grant.entitlement) {
        const roles = this.customRoles.get(repository) ?? new Map<string, Set<string>>();
        roles.set(login, (roles.get(login) ?? new Set()).add(grant.entitlement.toLowerCase()));
        this.customRoles.set(repository, roles);
      }
    }
    if (!HELD_KINDS.has(grant.grantKind)) return false;
    if (repositoryOf(grant) === undefined) this.organizationHeld.push(grant);
    else this.held.push(grant);
    return true;
  }

  /** Every held grant a push path may use: the page's and the organisation's. */
  private allHeld(): Grant[] {
    return [...this.held, ...this.organizationHeld];
  }

  /**
   * The strongest permission `login` has on `repository` by any path: the rows observed (direct,
   * team, nested team), and what the organisation gives (an owner's admin, a member's base
   * permission), which has no rows of its own.
   */
  private permissionOf(repository: string, login: string): string | undefined {
    let best = this.permissions.get(repository)?.get(login);
    const member = this.index.members.get(login);
    const base = this.index.basePermission;
    const fromOrganization =
      member?.role === 'owner' || this.owners.has(login)
        ? 'admin'
        : member && base !== undefined && base !== 'none'
          ? base
          : undefined;
    if (fromOrganization && (best === undefined || permissionRank(fromOrganization) > permissionRank(best))) {
      best = fromOrganization;
    }
    return best;
  }

  /** Whether a user-or-team-or-role grant reaches `login` (holding `permission` on the repository). */
  private reaches(grant: Grant, login: string, permission: string): boolean {
    switch (grant.principalType) {
      case 'user':
        return grant.principal.toLowerCase() === login;
      case 'team':
        return this.membersOf(grant.principal).has(login);
      case 'role': {
        if (grant.principal === 'organization_admin') return this.owners.has(login);
        if (permissionRank(grant.principal) >= 0) return permissionAtLeast(permission, grant.principal);
        // A custom role reaches those who hold it by name on the repository it guards.
        const repository = repositoryOf(grant);
        return repository
          ? (this.customRoles.get(repository)?.get(login)?.has(grant.principal.toLowerCase()) ?? false)
          : [...this.customRoles.values()].some((roles) =>
              roles.get(login)?.has(grant.principal.toLowerCase()),
            );
      }
      default:
        return false;
    }
  }

  /** A team's members, with the members of its child teams (expanded once, when flagging starts). */
  private membersOf(team: string): Set<string> {
    this.expandedTeams ??= withChildTeamMembers(this.teamMembers, this.parents);
    return this.expandedTeams.get(team.toLowerCase()) ?? new Set();
  }

  /** People an environment approval grant stands for. */
  private approversOf(grant: Grant): string[] {
    if (grant.principalType === 'user') return [grant.principal.toLowerCase()];
    if (grant.principalType === 'team') return [...this.membersOf(grant.principal)];
    return [];
  }

  /** The default branch of a repository (lower-cased name), from one map built on first use. */
  private defaultBranchOf(name: string): string | undefined {
    this.defaultBranches ??= new Map(
      this.index.repositories.map((repository) => [repository.name.toLowerCase(), repository.defaultBranch]),
    );
    return this.defaultBranches.get(name) ?? undefined;
  }

  /** How `login` gets code onto the default branch of `repository` unreviewed, or undefined. */
  private pushPath(repository: string, login: string, permission: string): PushPath | undefined {
    if (!permissionAtLeast(permission, 'write')) return undefined;
    const name = repository.slice(repository.indexOf('/') + 1);
    const branch = this.defaultBranchOf(name)?.toLowerCase();
    if (!branch) return undefined;
    const onBranch = (entitlement: string) =>
      this.allHeld().filter(
        (grant) =>
          grant.grantKind === 'branch_protection_bypass' &&
          grant.entitlement === entitlement &&
          grant.resource.toLowerCase() === `${repository}:${branch}` &&
          this.reaches(grant, login, permission),
      );
    const classic = this.index.defaultBranchRestrictions.get(name);
    const used: Grant[] = [];
    const how: string[] = [];
    if (!classic) {
      how.push(`${permission} access, ${branch} has no branch protection`);
    } else if (permission === 'admin' && !classic.enforceAdmins) {
      used.push(...onBranch('bypass_protection'));
      how.push(`admin, and admins are exempt from ${branch}'s protection`);
    } else if (classic.reviewsRequired) {
      const bypass = onBranch('bypass_pull_request_reviews');
      if (bypass.length === 0) return undefined;
      // Push restrictions apply to merges too: the bypass helps only someone who may also push.
      const push = classic.pushRestricted ? onBranch('push') : [];
      if (classic.pushRestricted && push.length === 0) return undefined;
      used.push(...bypass, ...push);
      how.push(`may merge into ${branch} without the required reviews`);
    } else if (classic.pushRestricted) {
      const push = onBranch('push');
      if (push.length === 0) return undefined;
      used.push(...push);
      how.push(`may push to ${branch}, which needs no review`);
    } else {
      how.push(`${permission} access, ${branch} needs no review`);
    }
    for (const ruleset of this.index.reviewRulesets.get(name) ?? []) {
      const bypass = this.allHeld().filter(
        (grant) =>
          grant.grantKind === 'ruleset_bypass' &&
          grant.resource.toLowerCase() === ruleset.toLowerCase() &&
          this.reaches(grant, login, permission),
      );
      if (bypass.length === 0) return undefined;
      used.push(...bypass);
      how.push(`bypasses ruleset ${String(bypass[0]?.raw.rulesetName ?? ruleset)}`);
    }
    return { how: how.join(', '), grants: used };
  }

  /**
   * An environment that deploys from branches other than the default one lets a writer push such
   * a branch (its protection is not read here) and deploy it: a push path of its own. `any` (no
   * branch policy) always is; `protected` is read as the default branch; patterns are when any
   * names another branch.
   */
  private otherBranchPath(approval: Grant, repository: string, permission: string): PushPath | undefined {
    if (!permissionAtLeast(permission, 'write')) return undefined;
    const policy = approval.raw.deploymentBranches;
    const environment = String(approval.raw.environment ?? approval.resource);
    if (policy === 'any' || policy === undefined || policy === null) {
      return { how: `${permission} access, and ${environment} deploys from any branch`, grants: [] };
    }
    if (!Array.isArray(policy)) return undefined;
    const name = repository.slice(repository.indexOf('/') + 1);
    const branch = this.defaultBranchOf(name);
    const others = policy.map(String).filter((pattern) => pattern.toLowerCase() !== branch?.toLowerCase());
    return others.length > 0
      ? { how: `${permission} access, and ${environment} deploys from ${others.join(', ')}`, grants: [] }
      : undefined;
  }

  /**
   * Flags the held grants of the repositories read so far (a page of them) and yields them; notes
   * findings on organisation-wide grants for `flagOrganization`. What was observed of those
   * repositories is then forgotten, so memory stays with a page.
   */
  async *flagPage(): AsyncGenerator<Grant> {
    const findings = new Map<string, string[]>();
    const note = (grant: Grant, text: string) => {
      if (repositoryOf(grant) === undefined) {
        const finding = this.organizationFindings.get(grant.grantId) ?? { notes: [], count: 0 };
        if (finding.notes.includes(text)) return;
        finding.count += 1;
        if (finding.notes.length < NOTES_KEPT) finding.notes.push(text);
        this.organizationFindings.set(grant.grantId, finding);
        return;
      }
      const list = findings.get(grant.grantId) ?? [];
      // A person reached twice (listed themselves and through a team) is one finding.
      if (!list.includes(text)) list.push(text);
      findings.set(grant.grantId, list);
    };
    for (const approval of this.held) {
      if (approval.grantKind !== 'environment_reviewer' || approval.raw.preventSelfReview === true) continue;
      const repository = repositoryOf(approval);
      if (!repository) continue;
      for (const login of this.approversOf(approval)) {
        const permission = this.permissionOf(repository, login);
        const path = permission
          ? (this.otherBranchPath(approval, repository, permission) ??
            this.pushPath(repository, login, permission))
          : undefined;
        if (!path) continue;
        note(approval, `${login}: ${path.how}`);
        for (const bypass of path.grants)
          note(bypass, `${login}: also approves deployments of ${approval.resource}`);
      }
    }
    const page = this.held;
    this.held = [];
    this.permissions.clear();
    this.customRoles.clear();
    this.defaultBranches = undefined;
    for (const grant of page) {
      const notes = findings.get(grant.grantId);
      if (!notes) {
        yield grant;
        continue;
      }
      const flagged = withFlag(grant, 'separation_of_duties');
      yield { ...flagged, raw: { ...flagged.raw, separationOfDuties: notes } };
    }
  }

  /**
   * The organisation-wide held grants, flagged by what every page found (up to three findings
   * named, and how many in all). `findings` restores what earlier invocations found.
   */
  async *flagOrganization(
    grants: readonly Grant[] = this.organizationHeld,
    findings: ReadonlyMap<string, OrganizationFinding> = this.organizationFindings,
  ): AsyncGenerator<Grant> {
    for (const grant of grants) {
      const finding = findings.get(grant.grantId);
      if (!finding) {
        yield grant;
        continue;
      }
      const notes =
        finding.count > finding.notes.length
          ? [...finding.notes, `and ${finding.count - finding.notes.length} more`]
          : finding.notes;
      const flagged = withFlag(grant, 'separation_of_duties');
      yield { ...flagged, raw: { ...flagged.raw, separationOfDuties: notes } };
    }
  }

  /** The organisation-wide grants held so far (org ruleset bypass actors). */
  organizationGrants(): readonly Grant[] {
    return this.organizationHeld;
  }

  /** Everything held, flagged: the page's grants, then the organisation's. */
  async *flagged(): AsyncGenerator<Grant> {
    yield* this.flagPage();
    yield* this.flagOrganization();
  }
}
