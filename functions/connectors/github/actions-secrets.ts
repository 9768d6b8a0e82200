import { ConnectorError } from '../../core/errors';
import { type Grant, type GrantFlag, makeGrant } from '../../core/grant';
import type { AccessPath, CheckResult, RevokeResult } from '../connector';
import { type GitHubAccessKind, mayHave, type SnapshotIndex } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { gitHubFailure, statusOf } from './errors';
import { actionsAccessKey, environmentSecretKey, splitInOrganization } from './keys';
import { organizationList, sameName } from './organization-lists';

/*
 * Which repositories can read an organisation's Actions secrets and variables, and which
 * environments hold secrets. A secret visible to `selected` repositories is one grant per
 * repository (removable one by one); a secret visible to all (or all private) repositories is one
 * grant for "every repository", which no API can narrow without someone choosing the repositories
 * (and a secret's visibility cannot even be changed without re-sending its value), so revoking it
 * is a remediation a person does. Environment secrets are read by whatever deploys to the
 * environment; deleting one breaks those deployments, so that too is for a person to decide.
 */

type Visibility = 'all' | 'private' | 'selected';
type What = 'secret' | 'variable';

/** What the two org list endpoints have in common. */
interface OrgItem {
  name: string;
  visibility: Visibility;
  created_at: string;
  updated_at: string;
}

interface SelectedRepository {
  id: number;
  name: string;
}

const plural = (what: What) => (what === 'secret' ? 'secrets' : 'variables');

function visibilityOf(value: string): Visibility {
  if (value === 'all' || value === 'private' || value === 'selected') return value;
  throw new ConnectorError(
    `GitHub reported an unknown visibility "${value}" for an Actions secret or variable`,
  );
}

function describeVisibility(visibility: Visibility): string {
  return visibility === 'all'
    ? 'all repositories'
    : visibility === 'private'
      ? 'all private repositories'
      : 'selected repositories';
}

/** Every secret (or variable) of the organisation; the org itself being unreadable is a failure. */
async function listOrgItems(context: GitHubContext, what: What): Promise<OrgItem[]> {
  const org = context.organization;
  return organizationList(
    context,
    `GET /orgs/${org}/actions/${plural(what)}`,
    async (): Promise<OrgItem[]> => {
      const items =
        what === 'secret'
          ? await context.octokit.paginate('GET /orgs/{org}/actions/secrets', { org, per_page: 100 })
          : // GitHub caps this list at 30 a page.
            await context.octokit.paginate('GET /orgs/{org}/actions/variables', { org, per_page: 30 });
      return items.map((item) => ({
        name: item.name,
        visibility: visibilityOf(item.visibility),
        created_at: item.created_at,
        updated_at: item.updated_at,
      }));
    },
  );
}

/**
 * The repositories selected for a secret or variable. 'gone' when it no longer exists (404) or is
 * no longer `selected` (a variable's list answers 409 then).
 */
async function listSelected(
  context: GitHubContext,
  what: What,
  name: string,
): Promise<SelectedRepository[] | 'gone'> {
  const org = context.organization;
  const call = `GET /orgs/${org}/actions/${plural(what)}/${name}/repositories`;
  try {
    const repositories =
      what === 'secret'
        ? await context.octokit.paginate('GET /orgs/{org}/actions/secrets/{secret_name}/repositories', {
            org,
            secret_name: name,
            per_page: 100,
          })
        : await context.octokit.paginate('GET /orgs/{org}/actions/variables/{name}/repositories', {
            org,
            name,
            per_page: 100,
          });
    return repositories.map((repository) => ({ id: repository.id, name: repository.name }));
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 409) return 'gone';
    throw gitHubFailure(error, call, context.token);
  }
}

async function* snapshotOrgItems(context: GitHubContext, what: What): AsyncGenerator<Grant> {
  const org = context.organization;
  for (const item of await listOrgItems(context, what)) {
    const dates = { createdAt: item.created_at, updatedAt: item.updated_at };
    if (item.visibility !== 'selected') {
      const flags: GrantFlag[] = item.visibility === 'all' ? ['visible_to_all_repositories'] : [];
      yield makeGrant(actionsAccessKey(org, what, item.name, null, item.visibility), {
        raw: { [what]: item.name, visibility: item.visibility, ...dates },
        flags,
      });
      continue;
    }
    const repositories = await listSelected(context, what, item.name);
    // Deleted (or made non-selected) between the two reads: the next snapshot sees its new state.
    if (repositories === 'gone') continue;
    for (const repository of repositories) {
      yield makeGrant(actionsAccessKey(org, what, item.name, repository.name, 'selected'), {
        raw: { [what]: item.name, visibility: 'selected', repositoryId: repository.id, ...dates },
      });
    }
  }
}

/** The environments of a repository; none when the repository (or the endpoint) answers 404. */
async function listEnvironments(context: GitHubContext, repo: string): Promise<string[]> {
  const owner = context.organization;
  const answer = await runRest(context, `GET /repos/${owner}/${repo}/environments`, () =>
    context.octokit.paginate('GET /repos/{owner}/{repo}/environments', { owner, repo, per_page: 100 }),
  );
  return answer === 'not_found' ? [] : answer.map((environment) => environment.name);
}

/** Secret names of an environment, or 'not_found' when the repository or environment is gone. */
function listEnvironmentSecrets(
  context: GitHubContext,
  repo: string,
  environment: string,
): Promise<Array<{ name: string; created_at: string; updated_at: string }> | 'not_found'> {
  const owner = context.organization;
  return runRest(context, `GET /repos/${owner}/${repo}/environments/${environment}/secrets`, () =>
    context.octokit.paginate('GET /repos/{owner}/{repo}/environments/{environment_name}/secrets', {
      owner,
      repo,
      environment_name: environment,
      per_page: 100,
    }),
  );
}

async function* snapshotEnvironmentSecrets(
  context: GitHubContext,
  index: SnapshotIndex,
): AsyncGenerator<Grant> {
  const org = context.organization;
  for (const repository of index.repositories) {
    if (!mayHave(repository, 'environments')) continue;
    const names =
      index.environmentNames?.get(repository.name.toLowerCase()) ??
      (await listEnvironments(context, repository.name));
    for (const environment of names) {
      const secrets = await listEnvironmentSecrets(context, repository.name, environment);
      if (secrets === 'not_found') continue;
      for (const secret of secrets) {
        yield makeGrant(environmentSecretKey(org, repository.name, environment, secret.name), {
          raw: {
            repository: repository.name,
            environment,
            secret: secret.name,
            createdAt: secret.created_at,
            updatedAt: secret.updated_at,
          },
        });
      }
    }
  }
}

/** `acme/secrets/NPM_TOKEN` → NPM_TOKEN. */
function orgItemName(grant: Grant, what: What, org: string): string {
  const prefix = `${org}/${plural(what)}/`.toLowerCase();
  const name = grant.resource.slice(prefix.length);
  if (!grant.resource.toLowerCase().startsWith(prefix) || name === '' || name.includes('/')) {
    throw new ConnectorError(`grant ${grant.grantId}: "${grant.resource}" is not an organization ${what}`);
  }
  return name;
}

/** `acme/api:production/secrets/DB_PASSWORD` → its repository, environment and secret name. */
function environmentSecretTarget(grant: Grant, org: string) {
  const match = /^([^/]+)\/([^/:]+):(.+)\/secrets\/([^/]+)$/.exec(grant.resource);
  if (!match || !sameName(match[1] ?? '', org)) {
    throw new ConnectorError(
      `grant ${grant.grantId}: "${grant.resource}" is not an environment secret in organization ${org}`,
    );
  }
  return { repo: match[2] ?? '', environment: match[3] ?? '', secret: match[4] ?? '' };
}

function targetOf(grant: Grant, what: What, org: string) {
  const name = orgItemName(grant, what, org);
  const repository =
    grant.via.kind === 'visibility' ? null : splitInOrganization(grant.principal, org, 'repository')[1];
  return { name, repository };
}

function whatOf(grant: Grant): What {
  return grant.grantKind === 'actions_variable_access' ? 'variable' : 'secret';
}

function narrowingRemediation(
  org: string,
  what: What,
  name: string,
  visibility: Visibility,
  leaveOut?: string,
) {
  const without = leaveOut ? `, leaving out ${org}/${leaveOut}` : '';
  return `An organization owner changes the repository access of ${org}'s Actions ${what} ${name} (Settings → Secrets and variables → Actions → ${plural(what)}) from "${describeVisibility(visibility)}" to "Selected repositories" and selects only the repositories that need it${without}.`;
}

async function revokeOrgItem(context: GitHubContext, grant: Grant, what: What): Promise<RevokeResult> {
  const org = context.organization;
  const { name, repository } = targetOf(grant, what, org);
  const listCall = `GET /orgs/${org}/actions/${plural(what)}`;
  const item = (await listOrgItems(context, what)).find((candidate) => sameName(candidate.name, name));
  if (!item) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${listCall}: ${what} ${name} no longer exists; nothing to remove`,
    };
  }
  if (repository === null) {
    if (item.visibility === 'selected') {
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `${listCall}: ${what} ${name} is already visible to selected repositories only; each is a grant of its own`,
      };
    }
    return {
      outcome: 'remediation_required',
      appliedAt: now(),
      action: `${listCall}: ${what} ${name} is visible to ${describeVisibility(item.visibility)}; no API call narrows it without choosing the repositories`,
      remediation: narrowingRemediation(org, what, name, item.visibility),
    };
  }
  if (item.visibility !== 'selected') {
    // The selection was replaced by a visibility: removing the repository from a list is not possible.
    return {
      outcome: 'remediation_required',
      appliedAt: now(),
      action: `${listCall}: ${what} ${name} is now visible to ${describeVisibility(item.visibility)}, so ${org}/${repository} reads it by visibility`,
      remediation: narrowingRemediation(org, what, name, item.visibility, repository),
    };
  }
  const selectedCall = `GET /orgs/${org}/actions/${plural(what)}/${name}/repositories`;
  const selected = await listSelected(context, what, item.name);
  const target = selected === 'gone' ? undefined : selected.find((entry) => sameName(entry.name, repository));
  if (!target) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${selectedCall}: ${org}/${repository} is not selected for ${what} ${name}; nothing to DELETE`,
    };
  }
  const deleteCall = `DELETE /orgs/${org}/actions/${plural(what)}/${item.name}/repositories/${target.id}`;
  const answer = await runRest(context, deleteCall, () =>
    what === 'secret'
      ? context.octokit.request(
          'DELETE /orgs/{org}/actions/secrets/{secret_name}/repositories/{repository_id}',
          {
            org,
            secret_name: item.name,
            repository_id: target.id,
          },
        )
      : context.octokit.request('DELETE /orgs/{org}/actions/variables/{name}/repositories/{repository_id}', {
          org,
          name: item.name,
          repository_id: target.id,
        }),
  );
  if (answer === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${deleteCall}: ${what} or repository is gone`,
    };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${deleteCall}: ${org}/${repository} can no longer read ${what} ${item.name}`,
  };
}

/**
 * Present while the secret exists and reaches the principal: by its visibility (a visibility other
 * than `selected` reaches every repository, or every private one, which a check cannot tell apart
 * without reading the repository, so it counts as a path), or by the repository being selected.
 */
async function checkOrgItem(context: GitHubContext, grant: Grant, what: What): Promise<CheckResult> {
  const org = context.organization;
  const { name, repository } = targetOf(grant, what, org);
  const item = (await listOrgItems(context, what)).find((candidate) => sameName(candidate.name, name));
  const checkedAt = now();
  if (!item) return { status: 'absent', checkedAt };
  if (item.visibility !== 'selected') {
    return {
      status: 'present',
      checkedAt,
      paths: [{ via: `visibility:${item.visibility}`, permission: 'read' }],
    };
  }
  if (repository === null) return { status: 'absent', checkedAt };
  const selected = await listSelected(context, what, item.name);
  const paths: AccessPath[] =
    selected !== 'gone' && selected.some((entry) => sameName(entry.name, repository))
      ? [{ via: 'direct', permission: 'read' }]
      : [];
  return paths.length > 0 ? { status: 'present', checkedAt, paths } : { status: 'absent', checkedAt };
}

async function revokeEnvironmentSecret(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  const { repo, environment, secret } = environmentSecretTarget(grant, org);
  const call = `GET /repos/${org}/${repo}/environments/${environment}/secrets`;
  const secrets = await listEnvironmentSecrets(context, repo, environment);
  if (secrets === 'not_found' || !secrets.some((entry) => sameName(entry.name, secret))) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${call}: environment ${org}/${repo}:${environment} has no secret ${secret}; nothing to remove`,
    };
  }
  return {
    outcome: 'remediation_required',
    appliedAt: now(),
    action: `${call}: secret ${secret} exists; deleting it would break deployments to ${environment}, so a person decides`,
    remediation: `A repository admin of ${org}/${repo} deletes the secret ${secret} of environment ${environment} (Settings → Environments → ${environment} → Environment secrets) so that deployments to ${environment} can no longer read it. This item stays open until the secret is gone; if those deployments still need it, the decision should have been keep (rotating the secret is credential hygiene, not a revocation).`,
  };
}

async function checkEnvironmentSecret(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const { repo, environment, secret } = environmentSecretTarget(grant, context.organization);
  const secrets = await listEnvironmentSecrets(context, repo, environment);
  const checkedAt = now();
  return secrets !== 'not_found' && secrets.some((entry) => sameName(entry.name, secret))
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'read' }] }
    : { status: 'absent', checkedAt };
}

export const actionsSecrets: GitHubAccessKind = {
  grantKinds: ['actions_secret_access', 'actions_variable_access', 'environment_secret'],
  async *snapshot(context, index, scope = 'all') {
    if (scope !== 'repositories') {
      yield* snapshotOrgItems(context, 'secret');
      yield* snapshotOrgItems(context, 'variable');
    }
    if (scope !== 'organization') yield* snapshotEnvironmentSecrets(context, index);
  },
  revoke: (context, grant) =>
    grant.grantKind === 'environment_secret'
      ? revokeEnvironmentSecret(context, grant)
      : revokeOrgItem(context, grant, whatOf(grant)),
  check: (context, grant) =>
    grant.grantKind === 'environment_secret'
      ? checkEnvironmentSecret(context, grant)
      : checkOrgItem(context, grant, whatOf(grant)),
};
