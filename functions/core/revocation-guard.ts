import type { RevocationGuardConfig } from './config';
import type { Grant } from './grant';

/**
 * The blast-radius guard: before anything is revoked, a campaign's revoke decisions are checked
 * against the configured limits and the principals nobody may take away without a second person.
 * Pure: the snapshot's grants, the decisions and the identities in, a verdict per decision out.
 *
 * Why it exists: two reviewers once demoted and removed every org owner, the tool's own identity
 * included, in 16 clicks, and left the organisation with no members. Every decision was valid on
 * its own; only the batch as a whole was a disaster, so the batch is what is checked.
 */

/** Why a revocation waits for the security team, or may not happen at all. */
export type GuardReasonCode =
  /** The campaign revokes more than maxRevokedPercent of its reviewable grants. */
  | 'over_percent_limit'
  /** This principal loses more than maxPerPrincipal grants in the campaign. */
  | 'over_principal_limit'
  /** The principal is an owner of the GitHub organisation. */
  | 'org_owner'
  /** The principal is a configured break-glass account. */
  | 'break_glass'
  /** Together, the campaign's revocations would leave an org, repository or team without an owner, admin or maintainer. */
  | 'last_owner'
  /** The principal is the tool itself: revoking it would stop this and every later review. */
  | 'own_identity';

export interface GuardReason {
  code: GuardReasonCode;
  /** One line a person reads: "acme would be left with no owner (besides the tool itself)". */
  detail: string;
}

/**
 * allowed: applied as decided; held: applied only if the security team approves the batch;
 * forbidden: never applied, whatever anyone approves (the tool's own identity).
 */
export type GuardOutcome = 'allowed' | 'held' | 'forbidden';

export interface GuardItem {
  grantId: string;
  outcome: GuardOutcome;
  /** Empty for allowed; every reason that applies otherwise, in a stable order. */
  reasons: GuardReason[];
}

/** The tool's own identities: GitHub logins (`<app>[bot]` for an App) and IAM role ARNs. */
export interface OwnIdentities {
  github: readonly string[];
  aws: readonly string[];
}

export interface GuardInput {
  /** Every grant of the campaign's snapshot, derived ones included (they say who keeps what). */
  grants: readonly Grant[];
  /** Grant ids a reviewer decided to revoke. */
  revoke: readonly string[];
  /**
   * Grant ids a reviewer decided to downgrade. They count exactly like revocations, for every
   * limit and protection: a downgrade takes the higher entitlement away (an owner's owner role, a
   * repository admin's admin), which is what the guard is about, so the percent and per-principal
   * limits count both, an owner's downgrade is held like their revocation, and demoting the last
   * owner, admin or maintainer is held like removing them. Nothing derived from the grant survives
   * at the higher level either (a team lowered from admin gives its members less).
   */
  downgrade?: readonly string[];
  limits: Pick<RevocationGuardConfig, 'maxRevokedPercent' | 'maxPerPrincipal' | 'breakGlass'>;
  ownIdentities: OwnIdentities;
}

export interface GuardVerdict {
  reviewable: number;
  /** Revoke and downgrade decisions the guard checked (downgrades count as revocations). */
  revocations: number;
  /** Of `revocations`, the downgrades. */
  downgrades: number;
  /** The most revocations the percent limit lets through without a confirmation. */
  percentAllowance: number;
  overPercentLimit: boolean;
  /** Principals over maxPerPrincipal, with how many of their grants are revoked. */
  principalsOverLimit: Array<{ principal: string; count: number }>;
  /** One per revoke decision, in the order of `revoke`. */
  items: GuardItem[];
  counts: Record<GuardOutcome, number>;
}

const REASON_ORDER: readonly GuardReasonCode[] = [
  'own_identity',
  'org_owner',
  'break_glass',
  'last_owner',
  'over_principal_limit',
  'over_percent_limit',
];

const fold = (value: string) => value.toLowerCase();

/**
 * The person or machine a grant belongs to, for per-principal counting: the holder when there is
 * one (a token's owner, an invitee), else the principal. GitHub names fold case; ARNs do not.
 */
export function principalKey(grant: Grant): string {
  const who = grant.holder ?? grant.principal;
  return grant.connector === 'github' ? `github:${fold(who)}` : `aws:${who}`;
}

/**
 * `arn:aws:iam::1:role/path/name` and `arn:aws:sts::1:assumed-role/name/session` both name role
 * `name` of account 1 (a session of a role is that role acting); undefined for anything else.
 */
export function roleIdentity(arn: string): { account: string; name: string } | undefined {
  const role = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/.exec(arn);
  if (role) return { account: role[1]!, name: role[2]! };
  const assumed = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
  if (assumed) return { account: assumed[1]!, name: assumed[2]! };
  return undefined;
}

/** True when `arn` is one of `protectedArns`, or a role (or a session of a role) among them. */
export function matchesAwsPrincipal(arn: string, protectedArns: readonly string[]): boolean {
  if (protectedArns.includes(arn)) return true;
  const role = roleIdentity(arn);
  if (!role) return false;
  return protectedArns.some((candidate) => {
    const other = roleIdentity(candidate);
    return other !== undefined && other.account === role.account && other.name === role.name;
  });
}

/**
 * True when the grant belongs to one of `logins`: its principal or holder is the login, or the
 * grant is held by a GitHub App whose bot (`<slug>[bot]`) is listed.
 */
function matchesGitHubPrincipal(grant: Grant, logins: ReadonlySet<string>): boolean {
  const names = [grant.principal, grant.holder].filter((name): name is string => name !== undefined);
  return names.some((name) => {
    const login = fold(name);
    return logins.has(login) || (grant.principalType === 'app' && logins.has(`${login}[bot]`));
  });
}

function belongsTo(grant: Grant, github: ReadonlySet<string>, aws: readonly string[]): boolean {
  if (grant.connector === 'github') return matchesGitHubPrincipal(grant, github);
  return matchesAwsPrincipal(grant.principal, aws);
}

/**
 * What gives someone control of a resource: org owners, repository admins (by any path, team and
 * org base included), team maintainers. Each entry names the resource, its noun and the person.
 */
interface Control {
  resource: string;
  what: 'owner' | 'admin' | 'maintainer';
  noun: string;
  person: string;
  grantId: string;
}

function controlOf(grant: Grant): Control | undefined {
  if (grant.connector !== 'github') return undefined;
  const person = fold(grant.principal);
  if (grant.grantKind === 'organization_membership' && grant.entitlement === 'owner') {
    return {
      resource: fold(grant.resource),
      what: 'owner',
      noun: 'organization',
      person,
      grantId: grant.grantId,
    };
  }
  if (grant.grantKind === 'user_repository' && grant.entitlement === 'admin') {
    return {
      resource: fold(grant.resource),
      what: 'admin',
      noun: 'repository',
      person,
      grantId: grant.grantId,
    };
  }
  if (grant.grantKind === 'team_membership' && grant.entitlement === 'maintainer') {
    return {
      resource: fold(grant.resource),
      what: 'maintainer',
      noun: 'team',
      person,
      grantId: grant.grantId,
    };
  }
  return undefined;
}

/**
 * The grants that are gone once every revocation in `revoked` is applied: the revoked grants,
 * everything derived from one of them, and (GitHub) every grant of a user removed from the org,
 * since GitHub drops their team memberships and roles with the membership.
 */
function goneAfter(grants: readonly Grant[], revoked: ReadonlySet<string>): Map<string, string[]> {
  // grant id → the revoke decisions that take it away
  const causes = new Map<string, string[]>();
  const add = (grantId: string, cause: string) => {
    const list = causes.get(grantId) ?? [];
    if (!list.includes(cause)) list.push(cause);
    causes.set(grantId, list);
  };
  const removedFromOrg = new Map<string, string>();
  for (const grant of grants) {
    if (!revoked.has(grant.grantId)) continue;
    add(grant.grantId, grant.grantId);
    if (
      grant.connector === 'github' &&
      grant.grantKind === 'organization_membership' &&
      grant.entitlement === 'member'
    ) {
      removedFromOrg.set(`${fold(grant.resource)}\u0000${fold(grant.principal)}`, grant.grantId);
    }
  }
  for (const grant of grants) {
    for (const parent of grant.derivedFrom) if (revoked.has(parent)) add(grant.grantId, parent);
    if (grant.connector === 'github' && grant.principalType === 'user') {
      const organization = fold(grant.resource.split(/[/:]/)[0] ?? '');
      const removal = removedFromOrg.get(`${organization}\u0000${fold(grant.principal)}`);
      if (removal) add(grant.grantId, removal);
    }
  }
  return causes;
}

/**
 * "Last owner of anything": resources that have someone in control before the campaign's
 * revocations and nobody after (the tool's own identity does not count as someone: a bot cannot
 * answer for an organisation). Returns, per revoke decision, why it takes part.
 */
function lastOwnerReasons(
  grants: readonly Grant[],
  revoked: ReadonlySet<string>,
  own: ReadonlySet<string>,
): Map<string, GuardReason[]> {
  const gone = goneAfter(grants, revoked);
  const byResource = new Map<
    string,
    { before: Set<string>; after: Set<string>; causes: Set<string>; sample: Control }
  >();
  for (const grant of grants) {
    const control = controlOf(grant);
    if (!control || own.has(control.person)) continue;
    const key = `${control.noun}\u0000${control.resource}`;
    const entry = byResource.get(key) ?? {
      before: new Set(),
      after: new Set(),
      causes: new Set(),
      sample: control,
    };
    entry.before.add(control.person);
    const removedBy = gone.get(grant.grantId);
    if (removedBy) for (const cause of removedBy) entry.causes.add(cause);
    else entry.after.add(control.person);
    byResource.set(key, entry);
  }
  const reasons = new Map<string, GuardReason[]>();
  for (const entry of byResource.values()) {
    if (entry.before.size === 0 || entry.after.size > 0) continue;
    const { noun, resource, what } = entry.sample;
    const detail = `${noun} ${resource} would be left with no ${what} (besides the tool itself)`;
    for (const cause of entry.causes) {
      const list = reasons.get(cause) ?? [];
      if (!list.some((reason) => reason.detail === detail)) list.push({ code: 'last_owner', detail });
      reasons.set(cause, list);
    }
  }
  return reasons;
}

/** Evaluates the guard for a campaign's revoke decisions. */
export function evaluateRevocationGuard(input: GuardInput): GuardVerdict {
  const { grants, limits } = input;
  const byId = new Map(grants.map((grant) => [grant.grantId, grant]));
  const downgradeIds = new Set((input.downgrade ?? []).filter((id) => byId.has(id)));
  const revokeIds = [...new Set([...input.revoke, ...downgradeIds])].filter((id) => byId.has(id));
  const revoked = new Set(revokeIds);
  const ownGitHub = new Set(input.ownIdentities.github.map(fold));
  const breakGlassGitHub = new Set(limits.breakGlass.github.map(fold));
  const owners = new Set(
    grants
      .filter(
        (g) =>
          g.connector === 'github' && g.grantKind === 'organization_membership' && g.entitlement === 'owner',
      )
      .map((g) => fold(g.principal)),
  );

  const reviewable = grants.filter((grant) => grant.reviewable).length;
  const percentAllowance = Math.floor((reviewable * limits.maxRevokedPercent) / 100);
  const overPercentLimit = revokeIds.length > percentAllowance;

  const perPrincipal = new Map<string, number>();
  for (const id of revokeIds) {
    const key = principalKey(byId.get(id)!);
    perPrincipal.set(key, (perPrincipal.get(key) ?? 0) + 1);
  }
  const principalsOverLimit = [...perPrincipal]
    .filter(([, count]) => count > limits.maxPerPrincipal)
    .map(([principal, count]) => ({ principal, count }))
    .sort((a, b) => b.count - a.count || a.principal.localeCompare(b.principal));
  const overPrincipal = new Map(principalsOverLimit.map((entry) => [entry.principal, entry.count]));

  const lastOwner = lastOwnerReasons(grants, revoked, ownGitHub);

  const items: GuardItem[] = revokeIds.map((grantId) => {
    const grant = byId.get(grantId)!;
    const reasons: GuardReason[] = [];
    if (belongsTo(grant, ownGitHub, input.ownIdentities.aws)) {
      reasons.push({
        code: 'own_identity',
        detail: `${grant.holder ?? grant.principal} is access-review's own identity: revoking it would stop this and every later review`,
      });
    }
    if (grant.connector === 'github' && grant.principalType === 'user' && owners.has(fold(grant.principal))) {
      reasons.push({ code: 'org_owner', detail: `${grant.principal} is an owner of the organization` });
    }
    if (belongsTo(grant, breakGlassGitHub, limits.breakGlass.aws)) {
      reasons.push({
        code: 'break_glass',
        detail: `${grant.holder ?? grant.principal} is a break-glass account`,
      });
    }
    reasons.push(...(lastOwner.get(grantId) ?? []));
    const count = overPrincipal.get(principalKey(grant));
    if (count !== undefined) {
      reasons.push({
        code: 'over_principal_limit',
        detail: `${grant.holder ?? grant.principal} would lose ${count} grants (limit ${limits.maxPerPrincipal})`,
      });
    }
    if (overPercentLimit) {
      reasons.push({
        code: 'over_percent_limit',
        detail: `the campaign ${downgradeIds.size > 0 ? 'revokes or downgrades' : 'revokes'} ${revokeIds.length} of ${reviewable} reviewable grants (limit ${limits.maxRevokedPercent}%: ${percentAllowance})`,
      });
    }
    reasons.sort((a, b) => REASON_ORDER.indexOf(a.code) - REASON_ORDER.indexOf(b.code));
    const outcome: GuardOutcome = reasons.some((reason) => reason.code === 'own_identity')
      ? 'forbidden'
      : reasons.length > 0
        ? 'held'
        : 'allowed';
    return { grantId, outcome, reasons };
  });
  const counts: Record<GuardOutcome, number> = { allowed: 0, held: 0, forbidden: 0 };
  for (const item of items) counts[item.outcome]++;
  return {
    reviewable,
    revocations: revokeIds.length,
    downgrades: revokeIds.filter((id) => downgradeIds.has(id)).length,
    percentAllowance,
    overPercentLimit,
    principalsOverLimit,
    items,
    counts,
  };
}

/**
 * The tool's own identities: those configured, those the connectors report (the GitHub token's
 * user or App bot), and the AWS roles it is configured to assume in every account.
 */
export function ownIdentitiesOf(
  config: {
    revocationGuard: Pick<RevocationGuardConfig, 'ownIdentities'>;
    aws?: { accounts: ReadonlyArray<{ readRoleArn: string; revokeRoleArn?: string }> } | undefined;
  },
  reported: Partial<OwnIdentities> = {},
): OwnIdentities {
  const github = [...config.revocationGuard.ownIdentities.github, ...(reported.github ?? [])];
  const aws = [
    ...config.revocationGuard.ownIdentities.aws,
    ...(config.aws?.accounts.flatMap((account) => [
      account.readRoleArn,
      ...(account.revokeRoleArn ? [account.revokeRoleArn] : []),
    ]) ?? []),
    ...(reported.aws ?? []),
  ];
  return {
    github: [...new Set(github.map(fold))].sort(),
    aws: [...new Set(aws)].sort(),
  };
}
