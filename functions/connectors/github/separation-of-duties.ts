import { type Grant, permissionAtLeast, withFlag } from '../../core/grant';
import type { SnapshotIndex } from './access-kind';

/** `acme/api` of `acme/api:production`, `acme/api:main`, `acme/api/rulesets/42`; undefined for org-wide resources. */
function repositoryOf(grant: Grant): string | undefined {
  if (grant.resourceType === 'repository') return grant.resource.toLowerCase();
  if (grant.resourceType === 'environment' || grant.resourceType === 'branch') {
    return grant.resource.slice(0, grant.resource.indexOf(':')).toLowerCase();
  }
  if (grant.resourceType === 'ruleset') {
    const match = /^([^/]+\/[^/]+)\/rulesets\/\d+$/.exec(grant.resource);
    return match?.[1]?.toLowerCase();
  }
  return undefined;
}

const HELD_KINDS = new Set<Grant['grantKind']>([
  'environment_reviewer',
  'branch_protection_bypass',
  'ruleset_bypass',
]);

/**
 * CC8's segregation of duties, checked across kinds: someone who can get code onto a repository's
 * default branch on their own (write access where the branch needs no review, or a place on its
 * bypass lists) and can also approve deployments of that repository to an environment that lets
 * reviewers approve their own deployments can ship code nobody else looked at.
 *
 * The snapshot shows every grant to `observe`; environment reviewer and bypass grants are held
 * (they are few) and come back from `flagged` at the end with `separation_of_duties` set where it
 * applies. Repository access streams on; only who can write where is remembered.
 */
export class SeparationOfDuties {
  private readonly held: Grant[] = [];
  /** `repo/login` of users with write or more on the repository, by any path. */
  private readonly writers = new Set<string>();
  /** Lower-cased `org/slug` → logins (immediate members). */
  private readonly teamMembers = new Map<string, Set<string>>();

  constructor(private readonly index: SnapshotIndex) {}

  /** Notes what the grant says; true when the grant is held back until `flagged`. */
  observe(grant: Grant): boolean {
    if (grant.grantKind === 'team_membership' && grant.entitlement === 'member') {
      const team = grant.resource.toLowerCase();
      if (!this.teamMembers.has(team)) this.teamMembers.set(team, new Set());
      this.teamMembers.get(team)?.add(grant.principal.toLowerCase());
    }
    if (grant.grantKind === 'user_repository' && permissionAtLeast(grant.entitlement, 'write')) {
      this.writers.add(`${grant.resource.toLowerCase()}/${grant.principal.toLowerCase()}`);
    }
    if (!HELD_KINDS.has(grant.grantKind)) return false;
    this.held.push(grant);
    return true;
  }

  /** People a user-or-team grant reaches. */
  private peopleOf(grant: Grant): string[] {
    if (grant.principalType === 'user') return [grant.principal.toLowerCase()];
    if (grant.principalType === 'team')
      return [...(this.teamMembers.get(grant.principal.toLowerCase()) ?? [])];
    return [];
  }

  /** Whether the default branch of `repository` (`acme/api`) is the branch this grant is about. */
  private onDefaultBranch(grant: Grant, repository: string): boolean {
    if (grant.grantKind === 'ruleset_bypass') {
      const targets = grant.raw.targetsDefaultBranch;
      return targets === undefined || targets === true;
    }
    const branch = grant.resource.slice(grant.resource.indexOf(':') + 1).toLowerCase();
    const name = repository.slice(repository.indexOf('/') + 1);
    const info = this.index.repositories.find((candidate) => candidate.name.toLowerCase() === name);
    return info?.defaultBranch?.toLowerCase() === branch;
  }

  async *flagged(): AsyncGenerator<Grant> {
    // repo → login → what lets them put code on the default branch unreviewed.
    const pushers = new Map<string, Map<string, string>>();
    const addPusher = (repository: string, login: string, how: string) => {
      if (!pushers.has(repository)) pushers.set(repository, new Map());
      const known = pushers.get(repository);
      if (!known?.has(login)) known?.set(login, how);
    };
    for (const key of this.writers) {
      const slash = key.lastIndexOf('/');
      const repository = key.slice(0, slash);
      const name = repository.slice(repository.indexOf('/') + 1);
      if (this.index.defaultBranchRequiresReview.get(name) !== true) {
        addPusher(repository, key.slice(slash + 1), 'write access to an unreviewed default branch');
      }
    }
    const bypassers = new Map<string, Grant[]>();
    for (const grant of this.held) {
      if (grant.grantKind === 'environment_reviewer') continue;
      const repository = repositoryOf(grant);
      if (!repository || !this.onDefaultBranch(grant, repository)) continue;
      for (const login of this.peopleOf(grant)) {
        addPusher(repository, login, `${grant.entitlement} on ${grant.resource}`);
        const list = bypassers.get(`${repository}/${login}`) ?? [];
        list.push(grant);
        bypassers.set(`${repository}/${login}`, list);
      }
    }
    const flaggedIds = new Set<string>();
    const findings = new Map<string, string[]>();
    for (const grant of this.held) {
      if (grant.grantKind !== 'environment_reviewer' || grant.raw.preventSelfReview === true) continue;
      const repository = repositoryOf(grant);
      if (!repository) continue;
      for (const login of this.peopleOf(grant)) {
        const how = pushers.get(repository)?.get(login);
        if (!how) continue;
        flaggedIds.add(grant.grantId);
        const list = findings.get(grant.grantId) ?? [];
        // A person reached twice (listed themselves and through a team) is one finding.
        if (!list.includes(`${login}: ${how}`)) list.push(`${login}: ${how}`);
        findings.set(grant.grantId, list);
        for (const bypass of bypassers.get(`${repository}/${login}`) ?? []) {
          flaggedIds.add(bypass.grantId);
          const notes = findings.get(bypass.grantId) ?? [];
          const note = `${login}: also approves deployments of ${grant.resource}`;
          if (!notes.includes(note)) notes.push(note);
          findings.set(bypass.grantId, notes);
        }
      }
    }
    for (const grant of this.held) {
      if (!flaggedIds.has(grant.grantId)) {
        yield grant;
        continue;
      }
      const flagged = withFlag(grant, 'separation_of_duties');
      yield { ...flagged, raw: { ...flagged.raw, separationOfDuties: findings.get(grant.grantId) ?? [] } };
    }
  }
}
