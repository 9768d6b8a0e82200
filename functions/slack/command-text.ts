import { AccessReviewError } from '../core/errors';
import { formatScope, parseScope, ScopeError } from '../core/scope';

/** The slash command the Slack app defines (README: the app manifest). */
export const SLASH_COMMAND = '/access-review';

export const SUBCOMMANDS = ['start', 'status', 'remind', 'cancel'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

/** Longest reason kept (it goes into the chain and the evidence; Slack caps the text at 4,000). */
export const MAX_REASON_CHARS = 500;

/** `2026-Q4-1a2b3c4d` (functions/steps/start-campaign.ts campaignIdFor). */
export const CAMPAIGN_ID = /^[0-9]{4}-Q[1-4]-[0-9a-f]{8}$/;

export type ParsedCommand =
  | { subcommand: 'start'; scope: string[]; reason: string }
  | { subcommand: 'status'; campaignId: string | undefined }
  | { subcommand: 'remind'; campaignId: string | undefined }
  | { subcommand: 'cancel'; campaignId: string | undefined; reason: string | null }
  | { subcommand: 'help' };

/** The command text is not one this app understands; `problems` names every bad part. */
export class CommandUsageError extends AccessReviewError {
  constructor(
    readonly subcommand: Subcommand | undefined,
    readonly problems: string[],
  ) {
    super(problems.join('; '));
  }
}

export const USAGE = [
  `\`${SLASH_COMMAND} start [scope terms] -- <reason>\`: start a campaign now; scope terms are \`repo:<org>/<name>\`, \`team:<org>/<slug>\`, \`user:<login>\`, \`connector:<github|aws>\`, \`kind:<grant kind>\` (several = all of them; none = everything). The reason is required.`,
  `\`${SLASH_COMMAND} status [campaign id]\`: progress per reviewer (default: the running campaigns).`,
  `\`${SLASH_COMMAND} remind [campaign id]\`: remind every reviewer with undecided grants now.`,
  `\`${SLASH_COMMAND} cancel [campaign id] [-- <reason>]\`: cancel a campaign in review; nothing is revoked.`,
].join('\n');

/**
 * Reads the command's text: a subcommand, its arguments, and after ` -- ` a free-text reason.
 * Every problem is collected (an unknown word, a second campaign id, a missing reason…) so the
 * person sees all of them at once. Scope terms are parsed by functions/core/scope.ts (what this
 * deployment can review is checked against the configuration when the campaign starts).
 */
export function parseCommandText(text: string): ParsedCommand {
  const normalized = text
    .replace(/[\u00a0\u2000-\u200b]/g, ' ')
    .replace(/[\u2013\u2014]/g, '--')
    .trim();
  if (normalized === '' || normalized === 'help') return { subcommand: 'help' };
  // The reason is everything after the first standalone `--`, spaces and all.
  const separator = /(^|\s)--(\s|$)/.exec(normalized);
  const head = separator ? normalized.slice(0, separator.index) : normalized;
  const reasonText = separator ? normalized.slice(separator.index + separator[0].length).trim() : undefined;
  const [word = '', ...args] = head.split(/\s+/).filter((part) => part !== '');
  const subcommand = SUBCOMMANDS.find((candidate) => candidate === word.toLowerCase());
  if (!subcommand) {
    throw new CommandUsageError(undefined, [
      `"${clip(word)}" is not a subcommand (start, status, remind or cancel)`,
    ]);
  }
  const problems: string[] = [];
  const reason = checkReason(reasonText, problems);
  switch (subcommand) {
    case 'start': {
      // `--scope` as the issue writes it is accepted as a marker before the terms.
      let scope: string[] = [];
      try {
        scope = formatScope(parseScope(args.filter((arg) => arg !== '--scope')));
      } catch (error) {
        if (!(error instanceof ScopeError)) throw error;
        problems.push(...error.problems);
      }
      if (reasonText === undefined) problems.push('a reason is required: add `-- <why this review runs>`');
      else if (reason === null && !problems.some((p) => p.startsWith('the reason'))) {
        problems.push('the reason after `--` is empty');
      }
      if (problems.length > 0) throw new CommandUsageError(subcommand, problems);
      return { subcommand, scope, reason: reason as string };
    }
    case 'status':
    case 'remind': {
      const campaignId = campaignArgument(args, problems);
      if (reasonText !== undefined) problems.push(`${subcommand} takes no reason (nothing after \`--\`)`);
      if (problems.length > 0) throw new CommandUsageError(subcommand, problems);
      return { subcommand, campaignId };
    }
    case 'cancel': {
      const campaignId = campaignArgument(args, problems);
      if (reasonText !== undefined && reason === null && problems.length === 0) {
        problems.push('the reason after `--` is empty');
      }
      if (problems.length > 0) throw new CommandUsageError(subcommand, problems);
      return { subcommand, campaignId, reason };
    }
  }
}

function campaignArgument(args: string[], problems: string[]): string | undefined {
  for (const arg of args) {
    if (!CAMPAIGN_ID.test(arg)) problems.push(`"${clip(arg)}" is not a campaign id (like 2026-Q4-1a2b3c4d)`);
  }
  if (args.length > 1) problems.push(`one campaign id at most (${args.length} given)`);
  return args.length === 1 && CAMPAIGN_ID.test(args[0] as string) ? args[0] : undefined;
}

function checkReason(text: string | undefined, problems: string[]): string | null {
  if (text === undefined) return null;
  // Control characters would break the evidence's CSV and the messages; collapse whitespace.
  const clean = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (clean.length > MAX_REASON_CHARS) {
    problems.push(`the reason is ${clean.length} characters, over the ${MAX_REASON_CHARS}-character limit`);
  }
  return clean === '' ? null : clean;
}

/** For echoing a bad word back: short, and without Slack's mention/link markup. */
function clip(word: string): string {
  const plain = word.replace(/[<>`*_~]/g, '');
  return plain.length > 40 ? `${plain.slice(0, 40)}…` : plain;
}
