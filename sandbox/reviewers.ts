import { type Grant, viaLabel } from '../functions/core/grant';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from '../functions/slack/approval-blocks';
import { REASONS, type ReasonCode, reasonActionIdFor } from '../functions/slack/blocks';
import type { GrantSelector, ReviewerBehaviour, Scenario } from './scenario';
import { chooseOverflowOption, clickButton, type InteractionOptions } from './slack/interactions';
import type { RecordedMessage, SlackSandbox } from './slack/server';

export interface Click {
  reviewer: string;
  slackUserId: string;
  grantId: string;
  decision: 'keep' | 'revoke';
  /** Set when the reviewer chose a reason from the "…" menu instead of clicking the button. */
  reason?: ReasonCode;
  status: number;
  at: string;
}

/** A security team member's answer to the revocation guard's request. */
export interface ApprovalClick {
  approver: string;
  slackUserId: string;
  decision: 'approve' | 'reject';
  status: number;
  at: string;
}

export interface SimulatedReviewers {
  clicks(): Click[];
  /** The security team's Approve / Reject clicks on held revocations. */
  approvalClicks(): ApprovalClick[];
  /** Resolves when every reviewer who answers has no button left to click. */
  idle(): Promise<void>;
  stop(): void;
}

export interface SimulatedReviewersOptions {
  scenario: Scenario;
  slack: SlackSandbox;
  slackEndpoint: string;
  signingSecret: string;
  /** The simulated person reads who and what a grant is about from the message; this gives the same facts. */
  lookupGrant(campaignId: string, grantId: string): Promise<Grant | undefined>;
  thinkMs: number;
  onError(message: string): void;
}

const BUTTON = /^review_(keep|revoke):(.+)$/;

function matches(selector: GrantSelector, grant: Grant): boolean {
  return (
    (selector.principal === undefined ||
      selector.principal.toLowerCase() === grant.principal.toLowerCase()) &&
    (selector.resource === undefined || selector.resource.toLowerCase() === grant.resource.toLowerCase()) &&
    (selector.entitlement === undefined || selector.entitlement === grant.entitlement) &&
    (selector.kind === undefined || selector.kind === grant.grantKind) &&
    (selector.holder === undefined || selector.holder.toLowerCase() === grant.holder?.toLowerCase()) &&
    (selector.secretName === undefined || selector.secretName === grant.raw.secretName) &&
    (selector.via === undefined || viaLabel(grant.via).startsWith(selector.via))
  );
}

/**
 * What this person decides about a grant: an explicit keep wins, then revoke, then their default.
 * The first matching rule's reason, if it has one, comes with the decision.
 */
export function decide(
  behaviour: ReviewerBehaviour,
  grant: Grant,
): { decision: 'keep' | 'revoke'; reason?: ReasonCode } {
  for (const decision of ['keep', 'revoke'] as const) {
    const rule = behaviour[decision].find((selector) => matches(selector, grant));
    if (rule) return rule.reason ? { decision, reason: rule.reason } : { decision };
  }
  return { decision: behaviour.default };
}

/** The option of a grant's "…" menu that shows this reason, read from the message as a person reads it. */
function reasonOption(
  message: RecordedMessage,
  grantId: string,
  reason: ReasonCode,
): { actionId: string; value: string } | undefined {
  const actionId = reasonActionIdFor(grantId);
  for (const block of message.blocks) {
    if (block.type !== 'actions' || !Array.isArray(block.elements)) continue;
    for (const element of block.elements as Array<Record<string, unknown>>) {
      if (element.type !== 'overflow' || element.action_id !== actionId || !Array.isArray(element.options))
        continue;
      for (const option of element.options as Array<Record<string, unknown>>) {
        const text = option.text as { text?: unknown } | undefined;
        if (text?.text === REASONS[reason] && typeof option.value === 'string') {
          return { actionId, value: option.value };
        }
      }
    }
  }
  return undefined;
}

interface Button {
  actionId: string;
  value: string;
  decision: 'keep' | 'revoke';
  grantId: string;
}

/** The guard's Approve or Reject button in a message, as a person finds it. */
function approvalButton(
  message: RecordedMessage,
  actionId: string,
): { actionId: string; value: string } | undefined {
  for (const block of message.blocks) {
    if (block.type !== 'actions' || !Array.isArray(block.elements)) continue;
    for (const element of block.elements as Array<Record<string, unknown>>) {
      if (element.action_id === actionId && typeof element.value === 'string')
        return { actionId, value: element.value };
    }
  }
  return undefined;
}

function buttonsOf(message: RecordedMessage): Button[] {
  const buttons: Button[] = [];
  for (const block of message.blocks) {
    if (block.type !== 'actions' || !Array.isArray(block.elements)) continue;
    for (const element of block.elements as Array<Record<string, unknown>>) {
      const match = typeof element.action_id === 'string' ? BUTTON.exec(element.action_id) : null;
      if (match && typeof element.value === 'string') {
        buttons.push({
          actionId: element.action_id as string,
          value: element.value,
          decision: match[1] as 'keep' | 'revoke',
          grantId: match[2]!,
        });
      }
    }
  }
  return buttons;
}

/** How often a simulated reviewer clicks again on a message whose redraw was lost. */
const MAX_STALE_RETRIES = 3;

/**
 * The scenario's reviewers as people in Slack: each one who answers reads their DM, and clicks
 * Keep or Revoke on each grant in turn (or, when their rule gives a reason, chooses that reason
 * from the grant's "…" menu), through the app's real endpoint with a signed request, exactly as
 * Slack would deliver it. A double-clicker sends every click twice at once.
 */
export function startSimulatedReviewers(options: SimulatedReviewersOptions): SimulatedReviewers {
  const { scenario, slack } = options;
  const byEmail = new Map(
    scenario.organization.members.flatMap((m) => (m.email ? [[m.email.toLowerCase(), m.login]] : [])),
  );
  const loginOfSlackUser = new Map(
    scenario.slack.users.flatMap((u) => {
      const login = byEmail.get(u.email.toLowerCase());
      return login ? [[u.id, { login, name: u.name }] as const] : [];
    }),
  );
  const userOfChannel = new Map(scenario.slack.users.map((u) => [slack.dmChannelFor(u.id), u.id]));
  const clicks: Click[] = [];
  const approvalClicks: ApprovalClick[] = [];
  const busy = new Set<string>();
  const working = new Set<Promise<void>>();
  let stopped = false;

  const work = async (channel: string, ts: string) => {
    const key = `${channel}/${ts}`;
    if (busy.has(key)) return;
    busy.add(key);
    try {
      const userId = userOfChannel.get(channel);
      const person = userId ? loginOfSlackUser.get(userId) : undefined;
      if (!userId || !person) return;
      const posted = slack.message(channel, ts);
      if (posted && approvalButton(posted, APPROVE_ACTION_ID)) {
        // The revocation guard's request: the security team answers as the scenario says.
        const answer = scenario.securityTeam[person.login] ?? 'ignore';
        if (answer === 'ignore') return;
        const button = approvalButton(posted, answer === 'approve' ? APPROVE_ACTION_ID : REJECT_ACTION_ID)!;
        await new Promise((resolve) => setTimeout(resolve, options.thinkMs));
        const response = await clickButton({
          appUrl: options.slackEndpoint,
          signingSecret: options.signingSecret,
          user: { id: userId, name: person.name },
          teamId: slack.teamId,
          channelId: channel,
          message: posted,
          responseUrl: slack.responseUrlFor({ channel, messageTs: ts, user: userId }),
          actionId: button.actionId,
          value: button.value,
        });
        approvalClicks.push({
          approver: person.login,
          slackUserId: userId,
          decision: answer,
          status: response.status,
          at: new Date().toISOString(),
        });
        if (response.status !== 200)
          options.onError(`${person.login}'s ${answer} was answered ${response.status}`);
        return;
      }
      const behaviour: ReviewerBehaviour = scenario.reviewers[person.login] ?? {
        default: 'keep',
        keep: [],
        revoke: [],
        doubleClick: false,
        respond: true,
      };
      if (!behaviour.respond) return;
      const clicked = new Set<string>();
      let staleRetries = 0;
      while (!stopped) {
        const message = slack.message(channel, ts);
        if (!message) return;
        let next = buttonsOf(message).find((button) => !clicked.has(button.grantId));
        if (!next) {
          // Every grant shown was clicked, yet the message still offers buttons: its redraw was
          // lost. A person clicks one of them again (the app answers "Already recorded" and
          // redraws); a few tries, then they give up.
          next = buttonsOf(message)[0];
          if (!next || staleRetries >= MAX_STALE_RETRIES) return;
          staleRetries += 1;
          clicked.delete(next.grantId);
        } else {
          staleRetries = 0;
        }
        const { c: campaignId } = JSON.parse(next.value) as { c: string };
        const grant = await options.lookupGrant(campaignId, next.grantId);
        if (!grant) {
          options.onError(`${person.login} was shown a grant the campaign does not have (${next.grantId})`);
          return;
        }
        const { decision, reason } = decide(behaviour, grant);
        const button = buttonsOf(message).find((b) => b.grantId === next.grantId && b.decision === decision)!;
        const option = reason ? reasonOption(message, next.grantId, reason) : undefined;
        if (reason && !option) {
          options.onError(`${person.login}'s message shows no "${REASONS[reason]}" for ${next.grantId}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, options.thinkMs));
        clicked.add(next.grantId);
        const interaction: Omit<InteractionOptions, 'actionId'> = {
          appUrl: options.slackEndpoint,
          signingSecret: options.signingSecret,
          user: { id: userId, name: person.name },
          teamId: slack.teamId,
          channelId: channel,
          message,
          responseUrl: slack.responseUrlFor({ channel, messageTs: ts, user: userId }),
        };
        const send = () =>
          option
            ? chooseOverflowOption({ ...interaction, actionId: option.actionId, optionValue: option.value })
            : clickButton({ ...interaction, actionId: button.actionId, value: button.value });
        const responses = await Promise.all(behaviour.doubleClick ? [send(), send()] : [send()]);
        for (const response of responses) {
          clicks.push({
            reviewer: person.login,
            slackUserId: userId,
            grantId: next.grantId,
            decision,
            ...(reason ? { reason } : {}),
            status: response.status,
            at: new Date().toISOString(),
          });
          if (response.status !== 200)
            options.onError(
              `${person.login}'s ${reason ? 'menu choice' : 'click'} was answered ${response.status}`,
            );
        }
      }
    } catch (error) {
      options.onError(`simulated reviewer failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      busy.delete(key);
    }
  };

  const unsubscribe = slack.onMessage((event) => {
    if (stopped || event.kind !== 'posted') return;
    const job = work(event.message.channel, event.message.ts);
    working.add(job);
    void job.finally(() => working.delete(job));
  });

  return {
    clicks: () => [...clicks],
    approvalClicks: () => [...approvalClicks],
    async idle() {
      while (working.size > 0) await Promise.all([...working]);
    },
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}
