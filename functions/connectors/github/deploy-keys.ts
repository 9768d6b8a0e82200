import { ConnectorError } from '../../core/errors';
import { type Grant, type GrantFlag, makeGrant, permissionAtLeast } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import { type GitHubAccessKind, mayHave } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { gitHubFailure } from './errors';
import { deployKeyKey, splitInOrganization } from './keys';

const DAY_MS = 86_400_000;
/** A write key this old has outlived a yearly rotation. */
const ROTATION_DAYS = 365;

interface DeployKeyRecord {
  id: number;
  title: string;
  read_only: boolean;
  created_at: string;
  added_by?: string | null;
  last_used?: string | null;
}

/** Whole days from `since` to `at`; undefined when GitHub sent no readable date. */
function ageInDays(since: string, at: number): number | undefined {
  const start = Date.parse(since);
  return Number.isNaN(start) ? undefined : Math.floor((at - start) / DAY_MS);
}

function grantOf(organization: string, repository: string, key: DeployKeyRecord, at: number): Grant {
  const ageDays = ageInDays(key.created_at, at);
  const flags: GrantFlag[] = [];
  // A read key cannot change code; only write keys are worth a rotation or a clean-up flag.
  if (!key.read_only) {
    if (ageDays !== undefined && ageDays > ROTATION_DAYS) flags.push('write_key_older_than_a_year');
    if (!key.last_used) flags.push('write_key_never_used');
  }
  return makeGrant(deployKeyKey(organization, repository, key.id, key.title, key.read_only), {
    raw: {
      id: key.id,
      title: key.title,
      readOnly: key.read_only,
      addedBy: key.added_by ?? null,
      createdAt: key.created_at,
      lastUsed: key.last_used ?? null,
      ageDays: ageDays ?? null,
    },
    flags,
  });
}

/**
 * The key id from the principal (`deploy key 4711 (ci-deploy)`), which is the grant's identity;
 * raw.id, when present, must agree, so a hand-edited or mixed-up grant never deletes another key.
 */
function keyIdOf(grant: Grant): number {
  const match = /^deploy key (\d+) \(.*\)$/s.exec(grant.principal);
  if (!match?.[1]) {
    throw new ConnectorError(
      `grant ${grant.grantId}: principal "${grant.principal}" is not of the form "deploy key <id> (<title>)"`,
    );
  }
  const id = Number(match[1]);
  if (grant.raw.id !== undefined && grant.raw.id !== id) {
    throw new ConnectorError(
      `grant ${grant.grantId}: principal names deploy key ${id} but raw.id is ${String(grant.raw.id)}`,
    );
  }
  return id;
}

function target(context: GitHubContext, grant: Grant) {
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  const key_id = keyIdOf(grant);
  return { owner, repo, key_id, path: `/repos/${owner}/${repo}/keys/${key_id}` };
}

function readKey(context: GitHubContext, params: ReturnType<typeof target>) {
  const { owner, repo, key_id } = params;
  return runRest(context, `GET ${params.path}`, () =>
    context.octokit.request('GET /repos/{owner}/{repo}/keys/{key_id}', { owner, repo, key_id }),
  );
}

/**
 * SSH deploy keys of every repository: a key is access nobody logs in for, so each one is a grant
 * a person vouches for. Needs the Administration repository permission (read; write to revoke),
 * or `repo` on a classic token.
 */
export const deployKeys: GitHubAccessKind = {
  grantKinds: ['deploy_key'],

  async *snapshot(context, index) {
    const owner = context.organization;
    // One clock for the whole pass, so every key's age is measured from the same moment.
    const at = Date.now();
    for (const repository of index.repositories) {
      if (!mayHave(repository, 'deployKeys')) continue;
      const repo = repository.name;
      let keys: DeployKeyRecord[];
      try {
        keys = await context.octokit.paginate('GET /repos/{owner}/{repo}/keys', {
          owner,
          repo,
          per_page: 100,
        });
      } catch (error) {
        // Loud, 404 included: a repository the token cannot read would otherwise hide its keys.
        throw gitHubFailure(error, `GET /repos/${owner}/${repo}/keys`, context.token);
      }
      for (const key of keys) yield grantOf(owner, repo, key, at);
    }
  },

  /** GET the key, then DELETE /repos/{owner}/{repo}/keys/{key_id}; deploy keys cannot be edited, only removed. */
  async revoke(context, grant): Promise<RevokeResult> {
    const params = target(context, grant);
    const before = await readKey(context, params);
    if (before === 'not_found') {
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `GET ${params.path}: no deploy key ${params.key_id} on ${grant.resource}; nothing to DELETE`,
      };
    }
    const { owner, repo, key_id } = params;
    const answer = await runRest(context, `DELETE ${params.path}`, () =>
      context.octokit.request('DELETE /repos/{owner}/{repo}/keys/{key_id}', { owner, repo, key_id }),
    );
    if (answer === 'not_found') {
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `DELETE ${params.path}: the key was removed by someone else after it was read`,
      };
    }
    const access = before.data.read_only ? 'read-only' : 'read-write';
    return {
      outcome: 'removed',
      appliedAt: now(),
      action: `DELETE ${params.path}: removed ${access} deploy key "${before.data.title}" from ${grant.resource}`,
    };
  },

  /** GET the key again: present while it exists with at least the reviewed access. */
  async check(context, grant): Promise<CheckResult> {
    const answer = await readKey(context, target(context, grant));
    const checkedAt = now();
    if (answer === 'not_found') return { status: 'absent', checkedAt };
    const held = answer.data.read_only ? 'read' : 'write';
    return permissionAtLeast(held, grant.entitlement)
      ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: held }] }
      : { status: 'absent', checkedAt };
  },
};
