import type { Grant } from '../core/grant';
import type { GrantContext } from '../core/grant-context';
import { grantInScope, type Scope } from '../core/scope';
import type { Services } from '../runtime/services';
import type { Campaign } from '../store/campaigns';
import type { Decision } from '../store/decisions';
import type { StoredGrant } from '../store/grants';
import { campaignScope } from './start-campaign';

/**
 * Earlier campaigns read at most, newest first, looking for the last one that covered each grant: a
 * run of scoped campaigns after the last whole one is short in practice, and each costs two paged
 * Queries (its grants and its decisions) whatever the number of grants.
 */
export const MAX_EARLIER_CAMPAIGNS = 8;

/** What computing the context read, for the step to report and the tests to hold it to. */
export interface GrantContextStats {
  /** Earlier campaigns whose grants and decisions were read (one partition each). */
  campaignsRead: string[];
  /** Grants of those campaigns looked at, and those kept (they match a grant under review). */
  earlierGrantsRead: number;
  earlierGrantsKept: number;
}

/** GitHub names compare without case; AWS names (ARNs, secret names) exactly. */
function fold(connector: string, value: string): string {
  return connector === 'github' ? value.toLowerCase() : value;
}

/**
 * The same access under another id: same connector, principal, resource and entitlement, reached
 * another way (the via is part of the id, so a direct grant that became a team grant changed id).
 */
function accessKey(grant: Grant): string {
  const c = grant.connector;
  return [c, grant.resourceType, fold(c, grant.resource), fold(c, grant.principal), grant.entitlement].join(
    '\u0000',
  );
}

/** The campaigns a grant's context may come from: completed, not cancelled, started before this one. */
function earlierCampaigns(campaigns: readonly Campaign[], current: Campaign): Campaign[] {
  return campaigns
    .filter(
      (c) =>
        c.campaignId !== current.campaignId &&
        c.status === 'completed' &&
        c.cancellation === undefined &&
        c.startedAt < current.startedAt,
    )
    .sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
}

/**
 * When the principal was last active, where the grant's own source record says: GitHub's deploy keys
 * (`last_used`) and fine-grained tokens (`token_last_used_at`), the only activity a connector reads
 * today. A record that says "never" gives the source without a time (the message says "no activity
 * recorded"). Secrets Manager's "last accessed" is the secret's, not the principal's: not used.
 */
function lastActive(grant: Grant): Pick<GrantContext, 'lastActiveAt' | 'lastActiveSource'> {
  const from = (field: string, source: string) => {
    if (!(field in grant.raw)) return {};
    const value = grant.raw[field];
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) {
      return { lastActiveAt: new Date(value).toISOString(), lastActiveSource: source };
    }
    return value === null ? { lastActiveSource: source } : {};
  };
  if (grant.grantKind === 'deploy_key') return from('lastUsed', 'GitHub deploy key record');
  if (grant.grantKind === 'personal_access_token') return from('lastUsedAt', 'GitHub token record');
  return {};
}

interface Earlier {
  campaign: Campaign;
  scope: Scope;
  /** Grants of that campaign matching a grant under review, by id and by access key. */
  byId: Map<string, StoredGrant>;
  byAccess: Map<string, StoredGrant[]>;
  decisions: Map<string, Decision>;
}

/**
 * The context a reviewer sees beside each grant: whether it is new since the last campaign that
 * covered it, that campaign's decision and who made it, and when the principal was last active
 * where the source records it. Risk flags are on the grant already.
 *
 * "The last campaign" is, per grant, the newest completed (not cancelled) campaign whose scope
 * covered it: a campaign scoped to acme/web says nothing about acme/api, so a grant on acme/api is
 * compared with the last campaign that looked at acme/api. The same access is found by grant id, or
 * by principal, resource and entitlement when only the path changed (a direct grant now via a
 * team). With no earlier campaign covering it, a grant is not called new: there is nothing to be new
 * against (no `lastCampaignId`).
 *
 * Each earlier campaign is read once (its grants page by page, then its decisions), keeping only
 * what matches a grant under review: never one query per grant.
 */
export async function grantContexts(
  campaign: Campaign,
  grants: readonly StoredGrant[],
  services: Pick<Services, 'store' | 'config'>,
  stats: GrantContextStats = { campaignsRead: [], earlierGrantsRead: 0, earlierGrantsKept: 0 },
): Promise<Map<string, GrantContext>> {
  const { store, config } = services;
  const ids = new Set(grants.map((g) => g.grantId));
  const accesses = new Set(grants.map(accessKey));
  const uncovered = new Set(grants.map((g) => g.grantId));
  const covering = new Map<string, Earlier>();
  const candidates = earlierCampaigns(await store.campaigns.list(), campaign);
  for (const earlier of candidates.slice(0, MAX_EARLIER_CAMPAIGNS)) {
    if (uncovered.size === 0) break;
    const scope = campaignScope(earlier);
    const covers = grants.filter((g) => uncovered.has(g.grantId) && grantInScope(g, scope, config));
    if (covers.length === 0) continue;
    const entry: Earlier = {
      campaign: earlier,
      scope,
      byId: new Map(),
      byAccess: new Map(),
      decisions: new Map(),
    };
    stats.campaignsRead.push(earlier.campaignId);
    for await (const page of store.grants.pages(earlier.campaignId)) {
      for (const grant of page) {
        stats.earlierGrantsRead++;
        if (grant.stale === true) continue;
        const access = accessKey(grant);
        if (!ids.has(grant.grantId) && !accesses.has(access)) continue;
        stats.earlierGrantsKept++;
        entry.byId.set(grant.grantId, grant);
        entry.byAccess.set(access, [...(entry.byAccess.get(access) ?? []), grant]);
      }
    }
    for (const decision of await store.decisions.list(earlier.campaignId)) {
      if (entry.byId.has(decision.grantId)) entry.decisions.set(decision.grantId, decision);
    }
    for (const grant of covers) {
      uncovered.delete(grant.grantId);
      covering.set(grant.grantId, entry);
    }
  }

  const contexts = new Map<string, GrantContext>();
  for (const grant of grants) {
    const entry = covering.get(grant.grantId);
    const context: GrantContext = { newSinceLastCampaign: false, ...lastActive(grant) };
    if (entry) {
      context.lastCampaignId = entry.campaign.campaignId;
      const same = entry.byId.get(grant.grantId);
      // Another path to the same access: the one that was decided, else the first by id.
      const others = [...(entry.byAccess.get(accessKey(grant)) ?? [])].sort((a, b) =>
        a.grantId < b.grantId ? -1 : 1,
      );
      const match = same ?? others.find((g) => entry.decisions.has(g.grantId)) ?? others[0];
      if (!match) context.newSinceLastCampaign = true;
      const decision = match ? entry.decisions.get(match.grantId) : undefined;
      if (decision) {
        context.lastDecision = decision.decision;
        context.lastDecidedAt = decision.decidedAt;
        context.lastDecisionChannel = decision.channel ?? 'slack';
        if (decision.channel !== 'policy') context.lastDecidedBy = decision.decidedBy ?? decision.reviewer;
      }
    }
    contexts.set(grant.grantId, context);
  }
  return contexts;
}
