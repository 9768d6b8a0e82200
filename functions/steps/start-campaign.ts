import { createHash } from 'node:crypto';
import type { AccessReviewConfig } from '../core/config';
import { ConfigError } from '../core/errors';
import { formatScope, parseScope, type Scope, ScopeError, scopeProblems } from '../core/scope';
import type { Services } from '../runtime/services';
import type { Campaign } from '../store/campaigns';

export interface StartCampaignInput {
  trigger?: string;
  requestedBy?: string;
  /**
   * Scope terms (functions/core/scope.ts): `repo:acme/api`, `user:carol`…; absent or empty: the
   * whole organisation. Typed loosely: it arrives as JSON from whoever started the execution.
   */
  scope?: unknown;
  /** Why this campaign runs (an ad-hoc review must say); absent or null for the schedule. */
  reason?: unknown;
  /** `$$.Execution.Name`: a retried StartCampaign in the same execution finds the same campaign. */
  executionName: string;
}

export interface StartCampaignOutput {
  campaignId: string;
}

/**
 * `2026-Q4-1a2b3c4d`: readable by an auditor (which quarter) and unique per execution. The quarter
 * is the one on the calendar of `timeZone` (the schedule's, config `schedule.timezone`): the
 * scheduled run at 09:00 on 1 January in Sydney is 22:00 on 31 December in UTC, and belongs to Q1
 * of the new year, not Q4 of the old one.
 */
export function campaignIdFor(executionName: string, at: Date, timeZone = 'UTC'): string {
  const { year, month } = calendarMonth(at, timeZone);
  const quarter = Math.floor((month - 1) / 3) + 1;
  const suffix = createHash('sha256').update(executionName).digest('hex').slice(0, 8);
  return `${year}-Q${quarter}-${suffix}`;
}

/** Year and month (1–12) of an instant on the Gregorian calendar of an IANA time zone. */
function calendarMonth(at: Date, timeZone: string): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    calendar: 'gregory',
    numberingSystem: 'latn',
    year: 'numeric',
    month: 'numeric',
  }).formatToParts(at);
  const number = (type: 'year' | 'month') => Number(parts.find((part) => part.type === type)?.value);
  return { year: number('year'), month: number('month') };
}

/**
 * Triggers of a campaign a person asked for (the CLI's `start`, the Slack command): they must say
 * why. The schedule needs no reason, nor the embedded host's demo and tests (`cli`, `test`), unless
 * they narrow the scope: a scoped campaign always says why it looked only there.
 */
export const AD_HOC_TRIGGERS: readonly string[] = ['manual', 'slack'];

/** Longest reason kept: a sentence or a ticket reference, not a document (it is in every export). */
export const MAX_REASON_LENGTH = 500;

/** C0 controls and DEL: nothing a person means to put in a one-line reason. */
function isControl(character: string): boolean {
  const code = character.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

/** A campaign request that cannot start: a bad scope, a reason missing or unusable. Never retried. */
export class CampaignRequestError extends ConfigError {}

/** What a campaign request asks for, checked: the scope parsed and the reason trimmed. */
export interface CampaignRequest {
  scope: Scope;
  reason: string | null;
}

/**
 * Checks a request's scope and reason (every problem named at once). With `config`, scope terms this
 * deployment cannot have (another organisation, a connector not configured) are refused too; the CLI,
 * which has no configuration of the deployed stack, checks without it and the step checks again.
 */
export function checkCampaignRequest(
  input: { trigger?: string; scope?: unknown; reason?: unknown },
  config?: AccessReviewConfig,
): CampaignRequest {
  const problems: string[] = [];
  let scope: Scope = { terms: [] };
  let cause: unknown;
  if (input.scope !== undefined && input.scope !== null) {
    if (!Array.isArray(input.scope) || input.scope.some((term) => typeof term !== 'string')) {
      problems.push('scope: must be a list of terms such as ["repo:acme/api", "user:carol"]');
    } else {
      try {
        scope = parseScope(input.scope as string[]);
        if (config) problems.push(...scopeProblems(scope, config).map((problem) => `scope ${problem}`));
      } catch (error) {
        if (!(error instanceof ScopeError)) throw error;
        cause = error;
        problems.push(...error.problems.map((problem) => `scope ${problem}`));
      }
    }
  }
  let reason: string | null = null;
  if (input.reason !== undefined && input.reason !== null) {
    if (typeof input.reason !== 'string') problems.push('reason: must be text');
    else {
      // Whitespace runs (a pasted paragraph) become one space: the reason is one line in every export.
      const text = input.reason.replace(/\s+/g, ' ').trim();
      if (text.length > MAX_REASON_LENGTH)
        problems.push(`reason: ${text.length} characters, at most ${MAX_REASON_LENGTH}`);
      else if ([...text].some(isControl)) problems.push('reason: contains control characters');
      else if (text !== '') reason = text;
    }
  }
  if (reason === null && (scope.terms.length > 0 || AD_HOC_TRIGGERS.includes(input.trigger ?? ''))) {
    problems.push(
      scope.terms.length > 0
        ? 'reason: a scoped campaign must say why it runs (--reason "…")'
        : 'reason: an ad-hoc campaign must say why it runs (--reason "…")',
    );
  }
  if (problems.length > 0) {
    throw new CampaignRequestError('cannot start the campaign', problems, cause ? { cause } : undefined);
  }
  return { scope, reason };
}

export async function startCampaign(
  input: StartCampaignInput,
  services: Services,
): Promise<StartCampaignOutput> {
  // Before anything is recorded: a request that cannot run leaves no campaign behind, and the
  // failure path says why (no campaign recorded for the execution; start a new one).
  const request = checkCampaignRequest(input, services.config);
  const now = services.now();
  const campaignId = campaignIdFor(input.executionName, now, services.config.schedule.timezone);
  const record: Campaign & Required<Pick<ScopedCampaign, 'scope' | 'reason'>> = {
    campaignId,
    organization: services.config.github.organization,
    status: 'snapshotting',
    trigger: input.trigger ?? 'manual',
    requestedBy: input.requestedBy ?? 'unknown',
    executionName: input.executionName,
    startedAt: now.toISOString(),
    counts: {},
    scope: formatScope(request.scope),
    reason: request.reason,
  };
  // A retried step finds the campaign its first attempt created, with that attempt's scope.
  const { campaign } = (await services.store.campaigns.create(record)) as { campaign: ScopedCampaign };
  const scope = campaign.scope ?? [];
  const reason = campaign.reason ?? null;
  await services.store.events.appendOnce(
    campaignId,
    'campaign_started',
    {
      organization: campaign.organization,
      trigger: campaign.trigger,
      requestedBy: campaign.requestedBy,
      executionName: campaign.executionName,
      // What was reviewed and why: [] is everything (campaigns before scopes have neither field).
      scope,
      reason,
      reviewWindowHours: services.config.review.windowHours,
      // Which configuration this campaign ran with (functions/runtime/config-file.ts).
      ...(services.configSha256 ? { configSha256: services.configSha256 } : {}),
    },
    now,
  );
  services.progress(
    `Campaign ${campaignId} started (${campaign.trigger}, requested by ${campaign.requestedBy})` +
      (scope.length > 0 ? `; scope ${scope.join(', ')}` : '') +
      (reason ? `; reason: ${reason}` : ''),
  );
  return { campaignId };
}

/** The campaign record with the scope and reason StartCampaign stores (absent on older campaigns). */
export type ScopedCampaign = Campaign & { scope?: string[]; reason?: string | null };

/** The scope a campaign ran with: what its record says, everything for a campaign before scopes. */
export function campaignScope(campaign: Campaign): Scope {
  const terms = (campaign as ScopedCampaign).scope ?? [];
  return terms.length === 0 ? { terms: [] } : parseScope(terms);
}
