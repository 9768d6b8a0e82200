import type { DecisionValue } from '../store/decisions';

/**
 * What a reviewer is shown beside a grant so they can decide without looking elsewhere: whether
 * it is new since the last campaign, what that campaign decided and who decided it, and when the
 * principal was last active where the source says (functions/steps/grant-context.ts fills it).
 */
export interface GrantContext {
  /** No grant with the same principal, resource and entitlement was in the last completed campaign. */
  newSinceLastCampaign: boolean;
  lastCampaignId?: string;
  lastDecision?: DecisionValue;
  /** GitHub login of who made the last decision. */
  lastDecidedBy?: string;
  lastDecidedAt?: string;
  /** slack: a person decided; policy: the end-of-window policy did (lastDecidedBy is then absent). */
  lastDecisionChannel?: 'slack' | 'policy';
  /** ISO time the principal was last active, where the source records it. */
  lastActiveAt?: string;
  /** Which source said so ("GitHub audit log", "IAM last accessed"). */
  lastActiveSource?: string;
}
