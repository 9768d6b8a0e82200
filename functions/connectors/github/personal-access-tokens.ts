import { ConnectorError } from '../../core/errors';
import { type Grant, type GrantFlag, makeGrant } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import type { GitHubAccessKind } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { permissionSummary, personalAccessTokenKey } from './keys';
import { organizationList } from './organization-lists';

/*
 * Fine-grained personal access tokens approved for the organisation. A token acts as its owner
 * (the grant's holder) with the permissions it was approved for; revoking takes away its access to
 * this organisation (the token itself lives on for its owner's other uses). The entitlement merges
 * the permission groups into one map with prefixes: `org.members:read`, `repo.contents:write`,
 * `other.<name>:<level>` for any further group GitHub adds.
 */

interface ApprovedToken {
  /** The id of the token's grant to the organisation: what the revoke endpoint takes as pat_id. */
  id: number;
  owner: string;
  name: string;
  tokenId: number;
  permissions: Record<string, string>;
  repositorySelection: string;
  accessGrantedAt: string;
  expired: boolean;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

const PREFIXES: Record<string, string> = { organization: 'org', repository: 'repo' };

/** `{organization: {members: 'read'}, repository: {contents: 'write'}}` → `{'org.members': 'read', 'repo.contents': 'write'}`. */
export function mergedPermissions(
  permissions: Record<string, Record<string, string> | undefined>,
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const [group, entries] of Object.entries(permissions)) {
    const prefix = PREFIXES[group] ?? group;
    for (const [name, level] of Object.entries(entries ?? {})) merged[`${prefix}.${name}`] = level;
  }
  return merged;
}

async function listTokens(context: GitHubContext): Promise<ApprovedToken[]> {
  const org = context.organization;
  const answer = await organizationList(
    context,
    `GET /orgs/${org}/personal-access-tokens`,
    () => context.octokit.paginate('GET /orgs/{org}/personal-access-tokens', { org, per_page: 100 }),
    ", and is the token a GitHub App's",
  );
  return answer.map((token) => ({
    id: token.id,
    owner: token.owner.login,
    name: token.token_name,
    tokenId: token.token_id,
    permissions: mergedPermissions(token.permissions),
    repositorySelection: token.repository_selection,
    accessGrantedAt: token.access_granted_at,
    expired: token.token_expired,
    expiresAt: token.token_expires_at,
    lastUsedAt: token.token_last_used_at,
  }));
}

async function* snapshotTokens(context: GitHubContext): AsyncGenerator<Grant> {
  for (const token of await listTokens(context)) {
    const flags: GrantFlag[] = token.expiresAt === null ? ['no_expiry'] : [];
    yield makeGrant(
      personalAccessTokenKey(context.organization, token.id, token.owner, token.name, token.permissions),
      {
        raw: {
          patId: token.id,
          tokenId: token.tokenId,
          tokenName: token.name,
          owner: token.owner,
          repositorySelection: token.repositorySelection,
          accessGrantedAt: token.accessGrantedAt,
          expiresAt: token.expiresAt,
          expired: token.expired,
          lastUsedAt: token.lastUsedAt,
        },
        flags,
        holder: token.owner,
      },
    );
  }
}

/** The grant's pat_id: `raw.patId`, else the id in the principal `alice's token 77 (release-bot)`. */
function patIdOf(grant: Grant): number {
  const raw = grant.raw.patId;
  if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
  const match = /'s token (\d+) \(/.exec(grant.principal);
  if (match) return Number(match[1]);
  throw new ConnectorError(`grant ${grant.grantId}: "${grant.principal}" does not name a token id`);
}

async function revokeToken(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  const patId = patIdOf(grant);
  const token = (await listTokens(context)).find((candidate) => candidate.id === patId);
  if (!token) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET /orgs/${org}/personal-access-tokens: token ${patId} has no access to ${org}; nothing to revoke`,
    };
  }
  const call = `POST /orgs/${org}/personal-access-tokens/${patId} {"action":"revoke"}`;
  const answer = await runRest(context, call, () =>
    context.octokit.request('POST /orgs/{org}/personal-access-tokens/{pat_id}', {
      org,
      pat_id: patId,
      action: 'revoke',
    }),
  );
  if (answer === 'not_found') {
    return { outcome: 'already_absent', appliedAt: now(), action: `${call}: the token's access is gone` };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: revoked ${token.owner}'s token "${token.name}" (token ${token.tokenId}) from ${org}`,
  };
}

/** Present while the token's grant to the organisation is listed. */
async function checkToken(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const patId = patIdOf(grant);
  const token = (await listTokens(context)).find((candidate) => candidate.id === patId);
  const checkedAt = now();
  return token
    ? {
        status: 'present',
        checkedAt,
        paths: [{ via: 'direct', permission: permissionSummary(token.permissions) }],
      }
    : { status: 'absent', checkedAt };
}

export const personalAccessTokens: GitHubAccessKind = {
  grantKinds: ['personal_access_token'],
  snapshot: (context) => snapshotTokens(context),
  revoke: revokeToken,
  check: checkToken,
};
