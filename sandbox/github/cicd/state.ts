import type { z } from 'zod';
import type { RepositoryPermission } from '../../../functions/core/grant';
import type {
  actionsSecret,
  actionsVariable,
  appInstallation,
  branchProtection,
  customRole,
  deployKey,
  environment,
  personalAccessToken,
  ruleset,
  runnerGroup,
} from '../../cicd-scenario';
import type { organizationSchema } from '../../scenario';
import type { GitHubState, SandboxUser } from '../state';

/*
 * The sandbox's model of GitHub's CI/CD surface. Records keep the scenario's fields and add what
 * GitHub adds (numeric ids, timestamps). Maps are keyed by lower-cased names where GitHub treats
 * names case-insensitively (repositories, environments, secrets) and by id where GitHub addresses
 * by id (keys, rulesets, runner groups, installations, tokens, invitations).
 */

type Input<T extends z.ZodType> = z.output<T>;

export interface SandboxCustomRole extends Input<typeof customRole> {
  id: number;
}

/** An org invitation sent to an email address of someone without a GitHub login known here. */
export interface SandboxEmailInvitation {
  id: number;
  email: string;
  role: 'member' | 'admin' | 'billing_manager';
  invitedBy: string;
  createdAt: string;
  teams: string[];
}

export interface SandboxRepositoryInvitation {
  id: number;
  login: string;
  /** Built-in role, or the custom role's base role when `customRole` is set. */
  permission: RepositoryPermission;
  customRole?: string;
  invitedBy: string;
  createdAt: string;
}

export interface SandboxDeployKey extends Input<typeof deployKey> {
  id: number;
  /** A stand-in public key, unique per key. */
  key: string;
}

export type SandboxEnvironment = Input<typeof environment> & { id: number; createdAt: string };
export type SandboxBranchProtection = Input<typeof branchProtection>;
export type SandboxRuleset = Input<typeof ruleset> & {
  id: number;
  /** `Repository` (defined on one repository) or `Organization`. */
  sourceType: 'Repository' | 'Organization';
  /** `acme/api` or `acme`. */
  source: string;
  createdAt: string;
  updatedAt: string;
};

export type SandboxSecret = Input<typeof actionsSecret> & { createdAt: string };
export type SandboxVariable = Input<typeof actionsVariable> & { createdAt: string };
export type SandboxRunnerGroup = Input<typeof runnerGroup> & { id: number };
export type SandboxAppInstallation = Input<typeof appInstallation> & {
  id: number;
  appId: number;
  /** Set when an owner suspends the installation (it stays installed). */
  suspendedAt?: string | null;
};
export type SandboxPersonalAccessToken = Input<typeof personalAccessToken> & {
  /** The id of the token's grant to the organisation (what the revoke endpoint takes). */
  id: number;
  tokenId: number;
};

export interface RepositoryCicdState {
  /** Invitation id → invitation. */
  invitations: Map<number, SandboxRepositoryInvitation>;
  /** Key id → deploy key. */
  deployKeys: Map<number, SandboxDeployKey>;
  /** Lower-cased environment name → environment. */
  environments: Map<string, SandboxEnvironment>;
  /** Lower-cased branch name → its classic branch protection. */
  branchProtection: Map<string, SandboxBranchProtection>;
  /** Ruleset id → a ruleset defined on this repository. */
  rulesets: Map<number, SandboxRuleset>;
}

export interface CicdState {
  customRoles: SandboxCustomRole[];
  /** Invitation id → invitations sent to an email address (invitations of known logins are in state.invitations). */
  emailInvitations: Map<number, SandboxEmailInvitation>;
  /** Lower-cased repository name → its CI/CD records. */
  repositories: Map<string, RepositoryCicdState>;
  /** Ruleset id → rulesets defined on the organisation. */
  rulesets: Map<number, SandboxRuleset>;
  /** Upper-cased name → organisation secret. */
  secrets: Map<string, SandboxSecret>;
  /** Upper-cased name → organisation variable. */
  variables: Map<string, SandboxVariable>;
  runnerGroups: Map<number, SandboxRunnerGroup>;
  apps: Map<number, SandboxAppInstallation>;
  personalAccessTokens: Map<number, SandboxPersonalAccessToken>;
}

const CREATED_AT = '2024-03-01T00:00:00Z';
const key = (value: string) => value.toLowerCase();

export function createCicdState(
  organization: z.output<typeof organizationSchema>,
  state: GitHubState,
  knowUser: (login: string) => SandboxUser,
): CicdState {
  const customRoles = organization.customRoles.map((role) => ({ ...role, id: state.nextId() }));
  const roleByName = new Map(customRoles.map((role) => [key(role.name), role]));
  const cicd: CicdState = {
    customRoles,
    emailInvitations: new Map(),
    repositories: new Map(),
    rulesets: new Map(),
    secrets: new Map(),
    variables: new Map(),
    runnerGroups: new Map(),
    apps: new Map(),
    personalAccessTokens: new Map(),
  };
  for (const invitation of organization.invitations) {
    if (invitation.login || !invitation.email) continue;
    const id = state.nextId();
    cicd.emailInvitations.set(id, {
      id,
      email: invitation.email,
      role: invitation.role,
      invitedBy: invitation.invitedBy,
      createdAt: invitation.createdAt,
      teams: invitation.teams,
    });
  }
  for (const repository of organization.repositories) {
    const records: RepositoryCicdState = {
      invitations: new Map(),
      deployKeys: new Map(),
      environments: new Map(),
      branchProtection: new Map(),
      rulesets: new Map(),
    };
    for (const invitation of repository.invitations) {
      knowUser(invitation.login);
      const custom = roleByName.get(key(invitation.permission));
      const id = state.nextId();
      records.invitations.set(id, {
        id,
        login: invitation.login,
        permission: custom ? custom.baseRole : (invitation.permission as RepositoryPermission),
        ...(custom ? { customRole: custom.name } : {}),
        invitedBy: invitation.invitedBy,
        createdAt: invitation.createdAt,
      });
    }
    for (const deployKey of repository.deployKeys) {
      if (deployKey.addedBy) knowUser(deployKey.addedBy);
      const id = state.nextId();
      records.deployKeys.set(id, { ...deployKey, id, key: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${id}` });
    }
    for (const env of repository.environments) {
      // A reviewer need not be a member (GitHub allows any user with access); the sandbox must know them.
      for (const login of env.reviewers.users) knowUser(login);
      records.environments.set(key(env.name), { ...env, id: state.nextId(), createdAt: CREATED_AT });
    }
    for (const protection of repository.branchProtection) {
      records.branchProtection.set(key(protection.branch), protection);
    }
    for (const set of repository.rulesets) {
      const id = state.nextId();
      records.rulesets.set(id, {
        ...set,
        id,
        sourceType: 'Repository',
        source: `${organization.login}/${repository.name}`,
        createdAt: CREATED_AT,
        updatedAt: CREATED_AT,
      });
    }
    cicd.repositories.set(key(repository.name), records);
  }
  for (const set of organization.rulesets) {
    const id = state.nextId();
    cicd.rulesets.set(id, {
      ...set,
      id,
      sourceType: 'Organization',
      source: organization.login,
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
    });
  }
  for (const secret of organization.secrets) {
    cicd.secrets.set(secret.name.toUpperCase(), { ...secret, createdAt: CREATED_AT });
  }
  for (const variable of organization.variables) {
    cicd.variables.set(variable.name.toUpperCase(), { ...variable, createdAt: CREATED_AT });
  }
  for (const group of organization.runnerGroups) {
    const id = state.nextId();
    cicd.runnerGroups.set(id, { ...group, id });
  }
  for (const app of organization.apps) {
    const id = state.nextId();
    cicd.apps.set(id, { ...app, id, appId: state.nextId() });
  }
  for (const token of organization.personalAccessTokens) {
    knowUser(token.owner);
    const id = state.nextId();
    cicd.personalAccessTokens.set(id, { ...token, id, tokenId: state.nextId() });
  }
  return cicd;
}

/** The CI/CD records of a repository (every repository has them, empty when the scenario lists none). */
export function repositoryCicd(state: GitHubState, repository: string): RepositoryCicdState | undefined {
  return state.cicd.repositories.get(key(repository));
}
