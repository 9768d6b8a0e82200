import type { AccessReviewConfig } from './config';
import type { Grant } from './grant';

/** Who holds what through teams, read from the snapshot itself (team membership grants). */
export interface TeamDirectory {
  /** `org/slug` → logins of members and maintainers. */
  members: Map<string, Set<string>>;
  /** `org/slug` → logins of maintainers, sorted. */
  maintainers: Map<string, string[]>;
}

export interface Route {
  reviewer: string | undefined;
  /** Why this reviewer, or why nobody: shown to the reviewer and kept in the evidence. */
  reason: string;
}

export function teamDirectoryOf(grants: Iterable<Grant>): TeamDirectory {
  const members = new Map<string, Set<string>>();
  const maintainers = new Map<string, string[]>();
  for (const grant of grants) {
    if (grant.resourceType !== 'team' || grant.principalType !== 'user') continue;
    const team = grant.resource.toLowerCase();
    const login = grant.principal.toLowerCase();
    if (!members.has(team)) members.set(team, new Set());
    members.get(team)?.add(login);
    if (grant.entitlement === 'maintainer')
      maintainers.set(team, [...(maintainers.get(team) ?? []), login].sort());
  }
  return { members, maintainers };
}

/** Everyone who benefits from the grant: the user, or every member of the team that holds it. */
export function holdersOf(grant: Grant, teams: TeamDirectory): Set<string> {
  if (grant.principalType === 'user') return new Set([grant.principal.toLowerCase()]);
  return teams.members.get(grant.principal.toLowerCase()) ?? new Set();
}

interface Candidate {
  login: string;
  role: string;
}

/**
 * Picks the person who vouches for a grant: the configured owner of the resource, else (for team
 * memberships) the team's maintainers, else the fallback reviewers in order. Nobody reviews access
 * they hold, directly or through a team; such a candidate is passed over and the reason says so.
 */
export function routeGrant(grant: Grant, config: AccessReviewConfig, teams: TeamDirectory): Route {
  const reachable = new Set(config.people.map((person) => person.github.toLowerCase()));
  const holders = holdersOf(grant, teams);
  const candidates: Candidate[] = [];
  const owner = config.routing.owners.find(
    (rule) =>
      rule.resourceType === grant.resourceType &&
      rule.resource.toLowerCase() === grant.resource.toLowerCase(),
  );
  if (owner)
    candidates.push({ login: owner.reviewer, role: `owner of ${grant.resourceType} ${grant.resource}` });
  if (config.routing.teamMaintainersReview && grant.resourceType === 'team') {
    for (const maintainer of teams.maintainers.get(grant.resource.toLowerCase()) ?? []) {
      candidates.push({ login: maintainer, role: `maintainer of team ${grant.resource}` });
    }
  }
  const preferred = candidates.length;
  for (const fallback of config.routing.fallbackReviewers) {
    candidates.push({ login: fallback, role: 'fallback reviewer' });
  }

  const passedOver: string[] = [];
  const considered = new Set<string>();
  for (const [index, candidate] of candidates.entries()) {
    const login = candidate.login.toLowerCase();
    // Someone listed twice (owner and fallback, say) is passed over once, with the first reason.
    if (considered.has(login)) continue;
    considered.add(login);
    if (holders.has(login)) {
      passedOver.push(
        grant.principalType === 'user'
          ? `${candidate.login} (${candidate.role}) holds this access`
          : `${candidate.login} (${candidate.role}) is in team ${grant.principal}, which holds this access`,
      );
      continue;
    }
    if (!reachable.has(login)) {
      passedOver.push(
        `${candidate.login} (${candidate.role}) is not listed in people, so cannot be reached in Slack`,
      );
      continue;
    }
    const notes = index >= preferred && preferred === 0 ? [`no owner configured for ${grant.resource}`] : [];
    notes.push(...passedOver);
    return {
      reviewer: login,
      reason: notes.length > 0 ? `${candidate.role}: ${notes.join('; ')}` : candidate.role,
    };
  }
  return {
    reviewer: undefined,
    reason: `no eligible reviewer: ${passedOver.join('; ') || 'no owner and no fallback configured'}`,
  };
}
