import type { z } from 'zod';
import {
  permissionRank,
  REPOSITORY_PERMISSIONS,
  type RepositoryPermission,
} from '../../functions/core/grant';
import { organizationSchema } from '../scenario';
import { type CicdState, createCicdState } from './cicd/state';

/**
 * The sandbox's model of one GitHub organisation. Maps are keyed by the lower-cased login, slug
 * or repository name because GitHub treats those case-insensitively; the records keep the
 * spelling the scenario used.
 */
/** What a scenario says of the organisation, before defaults (tests write only what they need). */
export type OrganizationInput = z.input<typeof organizationSchema>;
type Organization = z.output<typeof organizationSchema>;
export type OrgRole = 'owner' | 'member';
export type TeamRole = 'maintainer' | 'member';
export type BasePermission = Organization['basePermission'];

export interface SandboxUser {
  login: string;
  /** GitHub's numeric user id; stable for the life of the sandbox. */
  id: number;
  name?: string;
  email?: string;
}

export interface SandboxMember {
  login: string;
  role: OrgRole;
  /** False when the member has not turned on two-factor authentication. */
  twoFactor: boolean;
}

export interface SandboxTeam {
  id: number;
  slug: string;
  name: string;
  /** Lower-cased login → the member's role in the team. */
  members: Map<string, { login: string; role: TeamRole }>;
  /** Lower-cased repository name → the team's permission on it. */
  repositories: Map<string, RepositoryPermission>;
  /** Lower-cased slug of the parent team; a child team's members inherit its repository access. */
  parent?: string;
}

/**
 * Someone GitHub has emailed an invitation to (a PUT membership for a non-member): not a member,
 * no access, but GET membership answers `pending`. Teams they were invited to wait here too.
 */
export interface SandboxInvitation {
  /** GitHub's invitation id (DELETE /orgs/{org}/invitations/{invitation_id}). */
  id: number;
  login: string;
  role: OrgRole;
  /** Login of whoever sent it. */
  invitedBy?: string;
  createdAt: string;
  /** Lower-cased slug → the role they will have in the team once they accept. */
  teams: Map<string, { slug: string; role: TeamRole }>;
}

export interface SandboxRepository {
  id: number;
  name: string;
  private: boolean;
  /**
   * Lower-cased login → direct collaborator permission (members and outside collaborators).
   * `customRole` names an organisation custom role; `permission` is then that role's base role.
   */
  collaborators: Map<string, { login: string; permission: RepositoryPermission; customRole?: string }>;
  defaultBranch: string;
}

export interface GitHubState {
  id: number;
  login: string;
  basePermission: BasePermission;
  /** Every user the sandbox knows, including people who left the org: users outlive memberships. */
  users: Map<string, SandboxUser>;
  members: Map<string, SandboxMember>;
  /** Pending invitations, by lower-cased login. Nobody in here is in `members`. */
  invitations: Map<string, SandboxInvitation>;
  teams: Map<string, SandboxTeam>;
  repositories: Map<string, SandboxRepository>;
  /** Everything CI/CD: invitations by email, deploy keys, environments, protection, secrets… */
  cicd: CicdState;
  /** The login the token belongs to (`GET /user`); undefined for an App installation's token. */
  viewer?: string;
  /** Hands out GitHub-style numeric ids for anything created after start. */
  nextId(): number;
}

/** One reason a user can use a repository, as GitHub's `permissionSources` lists them. */
export type PermissionSourceRecord =
  | { kind: 'organization'; permission: RepositoryPermission }
  | { kind: 'repository'; permission: RepositoryPermission }
  | { kind: 'team'; team: string; permission: RepositoryPermission };

const key = (value: string) => value.toLowerCase();

export function createState(input: OrganizationInput): GitHubState {
  const organization = organizationSchema.parse(input);
  let nextId = 1000;
  const state: GitHubState = {
    id: nextId++,
    login: organization.login,
    basePermission: organization.basePermission,
    users: new Map(),
    members: new Map(),
    invitations: new Map(),
    teams: new Map(),
    repositories: new Map(),
    cicd: undefined as unknown as CicdState,
    nextId: () => nextId++,
    ...(organization.viewer ? { viewer: organization.viewer } : {}),
  };
  const knowUser = (login: string, extra: { name?: string; email?: string } = {}) => {
    const existing = state.users.get(key(login));
    if (existing) return existing;
    const user: SandboxUser = { login, id: nextId++, ...extra };
    state.users.set(key(login), user);
    return user;
  };
  for (const member of organization.members) {
    knowUser(member.login, { name: member.name, email: member.email });
    state.members.set(key(member.login), {
      login: member.login,
      role: member.role,
      twoFactor: member.twoFactor,
    });
  }
  if (organization.viewer) knowUser(organization.viewer);
  const customRoles = new Map(organization.customRoles.map((role) => [key(role.name), role]));
  for (const repository of organization.repositories) {
    const collaborators: SandboxRepository['collaborators'] = new Map();
    for (const [login, role] of Object.entries(repository.collaborators)) {
      knowUser(login);
      const custom = customRoles.get(key(role));
      const permission = custom ? custom.baseRole : (role as RepositoryPermission);
      collaborators.set(key(login), { login, permission, ...(custom ? { customRole: custom.name } : {}) });
    }
    state.repositories.set(key(repository.name), {
      id: nextId++,
      name: repository.name,
      private: repository.private,
      collaborators,
      defaultBranch: repository.defaultBranch,
    });
  }
  for (const team of organization.teams) {
    const members = new Map<string, { login: string; role: TeamRole }>();
    // Listed as both? GitHub keeps one membership per user; the stronger role wins.
    for (const login of team.members) members.set(key(login), { login, role: 'member' });
    for (const login of team.maintainers) members.set(key(login), { login, role: 'maintainer' });
    const repositories = new Map<string, RepositoryPermission>();
    for (const [name, permission] of Object.entries(team.repositories))
      repositories.set(key(name), permission);
    state.teams.set(key(team.slug), {
      id: nextId++,
      slug: team.slug,
      name: team.name ?? team.slug,
      members,
      repositories,
      ...(team.parent ? { parent: key(team.parent) } : {}),
    });
  }
  for (const invitation of organization.invitations) {
    if (!invitation.login) continue;
    const user = knowUser(invitation.login);
    const teams = new Map<string, { slug: string; role: TeamRole }>();
    for (const slug of invitation.teams) teams.set(key(slug), { slug, role: 'member' });
    state.invitations.set(key(user.login), {
      id: nextId++,
      login: user.login,
      role: invitation.role === 'admin' ? 'owner' : 'member',
      invitedBy: invitation.invitedBy,
      createdAt: invitation.createdAt,
      teams,
    });
  }
  state.cicd = createCicdState(organization, state, knowUser);
  return state;
}

export function findUser(state: GitHubState, login: string): SandboxUser | undefined {
  return state.users.get(key(login));
}

export function findMember(state: GitHubState, login: string): SandboxMember | undefined {
  return state.members.get(key(login));
}

export function findTeam(state: GitHubState, slug: string): SandboxTeam | undefined {
  return state.teams.get(key(slug));
}

export function findRepository(state: GitHubState, name: string): SandboxRepository | undefined {
  return state.repositories.get(key(name));
}

export function isOrganization(state: GitHubState, login: string): boolean {
  return key(login) === key(state.login);
}

/**
 * Why `login` can use `repository`, source by source, as GitHub computes it: the organisation
 * (owners are admins of every repository; members get the base permission unless it is `none`),
 * a direct collaborator entry, and every team the user is in that has access to the repository.
 */
export function permissionSources(
  state: GitHubState,
  login: string,
  repository: SandboxRepository,
): PermissionSourceRecord[] {
  const sources: PermissionSourceRecord[] = [];
  const member = findMember(state, login);
  if (member?.role === 'owner') {
    sources.push({ kind: 'organization', permission: 'admin' });
  } else if (member && state.basePermission !== 'none') {
    sources.push({ kind: 'organization', permission: state.basePermission });
  }
  const direct = repository.collaborators.get(key(login));
  if (direct) sources.push({ kind: 'repository', permission: direct.permission });
  for (const team of state.teams.values()) {
    const permission = team.repositories.get(key(repository.name));
    if (permission && team.members.has(key(login))) {
      sources.push({ kind: 'team', team: team.slug, permission });
    }
  }
  return sources;
}

/** The highest permission over all sources, or undefined when the user has no access. */
export function effectivePermission(
  sources: readonly PermissionSourceRecord[],
): RepositoryPermission | undefined {
  let best = -1;
  for (const source of sources) best = Math.max(best, permissionRank(source.permission));
  return best >= 0 ? REPOSITORY_PERMISSIONS[best] : undefined;
}

/** Logins of everyone with any access to the repository, each once, in a stable order. */
export function usersWithAccess(state: GitHubState, repository: SandboxRepository): string[] {
  const logins = new Map<string, string>();
  if (state.basePermission !== 'none') {
    for (const member of state.members.values()) logins.set(key(member.login), member.login);
  } else {
    for (const member of state.members.values()) {
      if (member.role === 'owner') logins.set(key(member.login), member.login);
    }
  }
  for (const collaborator of repository.collaborators.values()) {
    logins.set(key(collaborator.login), collaborator.login);
  }
  for (const team of state.teams.values()) {
    if (!team.repositories.has(key(repository.name))) continue;
    for (const member of team.members.values()) logins.set(key(member.login), member.login);
  }
  return [...logins.values()].sort((a, b) => compareKeys(a, b));
}

export function compareKeys(a: string, b: string): number {
  const left = key(a);
  const right = key(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * Removes the user from the organisation. Like GitHub, this ends their team memberships but keeps
 * their direct collaborator entries, which turns them into outside collaborators.
 */
/**
 * True when `login` is the organisation's only owner. GitHub refuses to remove or demote the last
 * owner (an organisation nobody owns cannot be administered), and so does the sandbox.
 */
export function isLastOwner(state: GitHubState, login: string): boolean {
  const member = findMember(state, login);
  if (member?.role !== 'owner') return false;
  return [...state.members.values()].filter((candidate) => candidate.role === 'owner').length === 1;
}

export function removeMember(state: GitHubState, login: string): boolean {
  if (!state.members.delete(key(login))) return false;
  for (const team of state.teams.values()) team.members.delete(key(login));
  return true;
}

/** Cancels a pending invitation (what DELETE membership does for an invitee). */
export function cancelInvitation(state: GitHubState, login: string): boolean {
  return state.invitations.delete(key(login));
}

export function findInvitation(state: GitHubState, login: string) {
  return state.invitations.get(key(login));
}

/** Invites a known user who is not a member, or changes the role of their pending invitation. */
export function invite(state: GitHubState, user: SandboxUser, role: OrgRole): SandboxInvitation {
  const existing = state.invitations.get(key(user.login));
  if (existing) {
    existing.role = role;
    return existing;
  }
  const invitation: SandboxInvitation = {
    id: state.nextId(),
    login: user.login,
    role,
    createdAt: new Date().toISOString(),
    teams: new Map(),
  };
  state.invitations.set(key(user.login), invitation);
  return invitation;
}

/** Changes an existing member's role; false for someone who is not a member. */
export function setMemberRole(state: GitHubState, login: string, role: OrgRole): boolean {
  const member = findMember(state, login);
  if (!member) return false;
  member.role = role;
  return true;
}

/** Invites a non-member to the org (keeping a pending invitation's role) with a pending team membership. */
export function inviteToTeam(state: GitHubState, user: SandboxUser, team: SandboxTeam, role: TeamRole) {
  const invitation = findInvitation(state, user.login) ?? invite(state, user, 'member');
  invitation.teams.set(key(team.slug), { slug: team.slug, role });
  return invitation;
}

/** Adds an org member to the team or changes their role in it; false for someone not in the org. */
export function setTeamMemberRole(
  state: GitHubState,
  team: SandboxTeam,
  login: string,
  role: TeamRole,
): boolean {
  const member = findMember(state, login);
  if (!member) return false;
  team.members.set(key(login), { login: member.login, role });
  return true;
}

export function removeTeamMember(state: GitHubState, slug: string, login: string): boolean {
  const removed = findTeam(state, slug)?.members.delete(key(login)) ?? false;
  const invited = findInvitation(state, login)?.teams.delete(key(slug)) ?? false;
  return removed || invited;
}

export function removeTeamRepository(state: GitHubState, slug: string, repository: string): boolean {
  return findTeam(state, slug)?.repositories.delete(key(repository)) ?? false;
}

export function removeCollaborator(state: GitHubState, repository: string, login: string): boolean {
  return findRepository(state, repository)?.collaborators.delete(key(login)) ?? false;
}

/**
 * Cancels the org invitation with GitHub's invitation `id`, whether it was sent to a login
 * (state.invitations) or to an email address (state.cicd.emailInvitations).
 */
export function cancelInvitationById(state: GitHubState, id: number): boolean {
  for (const [login, invitation] of state.invitations) {
    if (invitation.id === id) return state.invitations.delete(login);
  }
  return state.cicd.emailInvitations.delete(id);
}
