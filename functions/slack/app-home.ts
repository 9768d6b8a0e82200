import type { App, types } from '@slack/bolt';
import { AccessReviewError } from '../core/errors';
import type { Services } from '../runtime/services';
import { isRunning } from '../steps/campaign-status';
import type { Campaign } from '../store/campaigns';
import type { ReviewTask } from '../store/tasks';
import { personOfSlackUser } from './listeners';
import { createMembershipChecker, type MembershipChecker, UserGroupLookupError } from './user-group';

type KnownBlock = types.KnownBlock;
type HomeView = types.HomeView;

/**
 * The app's Home tab (https://docs.slack.dev/surfaces/app-home): when a person opens it
 * (`app_home_opened`), views.publish shows them what waits for them across running campaigns:
 * their own open review tasks (grants left, deadline, a link to the review message), the grants
 * handed to them by delegation or escalation, and, for members of the security team's user group,
 * every running campaign with its progress.
 *
 * Reads are bounded: the campaigns index (one Query, newest first; only the newest
 * HOME_MAX_CAMPAIGNS running ones are read further), then per campaign one GetItem for the
 * person's task, the handover notes addressed to them (one Query, one read per handed grant),
 * and for the security team one Query of the campaign's tasks. Nothing scans the table.
 */

/** Running campaigns the tab lists (newest first); more are counted, not read. */
export const HOME_MAX_CAMPAIGNS = 10;
/** Views hold up to 100 blocks (https://docs.slack.dev/reference/views/home-tab-views). */
const MAX_HOME_BLOCKS = 100;
const SECTION_TEXT_MAX = 3000;

export class AppHomeError extends AccessReviewError {}

export interface HomeDependencies {
  membership: MembershipChecker;
}

export interface HomeTask {
  campaignId: string;
  grantsLeft: number;
  grantCount: number;
  dueAt: string;
  /** Where the review message is, when it was posted. */
  channelId?: string;
  messageTs?: string;
}

export interface HomeHandover {
  campaignId: string;
  grants: number;
  /** Whose review they came from, and how. */
  from: Array<{ reviewer: string; by: 'escalation' | 'delegation' }>;
  channelId?: string;
  messageTs?: string;
}

export interface HomeCampaign {
  campaignId: string;
  status: Campaign['status'];
  trigger: string;
  startedAt: string;
  scope: string[];
  reason: string | null;
  reviewers: number;
  reviewersDone: number;
  grants: number;
  decided: number;
  /** Reviewers with grants still open, and how many each. */
  waitingOn: Array<{ reviewer: string; left: number }>;
  /** The earliest deadline among open tasks. */
  dueAt?: string;
}

export interface HomeContent {
  /** The configured person, when the Slack user is one. */
  login?: string;
  tasks: HomeTask[];
  handovers: HomeHandover[];
  /** Present only for members of the security team's user group. */
  campaigns?: HomeCampaign[];
  /** Running campaigns beyond HOME_MAX_CAMPAIGNS, not read. */
  moreCampaigns: number;
  /** Set when the security team's membership could not be read (the section is left out). */
  membershipUnknown?: boolean;
}

const OPEN: ReadonlySet<ReviewTask['status']> = new Set(['pending', 'awaiting']);

/** What the Home tab shows this Slack user, read from the table and Slack. */
export async function homeContent(
  services: Services,
  slackUserId: string,
  deps: HomeDependencies,
): Promise<HomeContent> {
  const running = (await services.store.campaigns.list()).filter(
    (campaign) => isRunning(campaign) && !campaign.cancellation,
  );
  const campaigns = running.slice(0, HOME_MAX_CAMPAIGNS);
  const login = await personOfSlackUser(services, slackUserId);
  const content: HomeContent = {
    ...(login ? { login } : {}),
    tasks: [],
    handovers: [],
    moreCampaigns: running.length - campaigns.length,
  };
  if (login) {
    const per = await Promise.all(
      campaigns.map(async (campaign) => {
        const [task, handed, head] = await Promise.all([
          services.store.tasks.get(campaign.campaignId, login),
          services.store.grants.handedTo(campaign.campaignId, login),
          services.store.grants.getHandoverMessage(campaign.campaignId, login),
        ]);
        return { campaign, task, handed, head };
      }),
    );
    for (const { campaign, task, handed, head } of per) {
      if (task && OPEN.has(task.status) && task.grantCount > task.decidedCount) {
        content.tasks.push({
          campaignId: campaign.campaignId,
          grantsLeft: task.grantCount - task.decidedCount,
          grantCount: task.grantCount,
          dueAt: task.dueAt,
          ...(task.channelId && task.messageTs
            ? { channelId: task.channelId, messageTs: task.messageTs }
            : {}),
        });
      }
      // Handed grants still theirs; a decided one stays assigned but needs nothing more.
      const undecided = await undecidedOf(
        services,
        campaign.campaignId,
        handed.map((grant) => grant.grantId),
      );
      const open = handed.filter((grant) => undecided.has(grant.grantId));
      if (open.length > 0) {
        const from = new Map<string, 'escalation' | 'delegation'>();
        for (const grant of open) from.set(grant.reviewer ?? 'unknown', grant.assignedBy ?? 'delegation');
        content.handovers.push({
          campaignId: campaign.campaignId,
          grants: open.length,
          from: [...from].map(([reviewer, by]) => ({ reviewer, by })),
          ...(head?.channelId && head.messageTs
            ? { channelId: head.channelId, messageTs: head.messageTs }
            : {}),
        });
      }
    }
  }
  const group = services.config.slack.securityTeamUserGroup;
  if (group) {
    let member = false;
    try {
      member = await deps.membership.isMember(group, slackUserId);
    } catch (error) {
      if (!(error instanceof UserGroupLookupError)) throw error;
      services.log.warn('app home: security team membership unknown', {
        who: slackUserId,
        error: error.message,
      });
      content.membershipUnknown = true;
    }
    if (member) {
      content.campaigns = await Promise.all(campaigns.map((campaign) => progressOf(services, campaign)));
    }
  }
  return content;
}

/** Of these grants, the ones with no decision yet (one GetItem each; handed grants are few). */
async function undecidedOf(services: Services, campaignId: string, grantIds: string[]): Promise<Set<string>> {
  const decided = await Promise.all(
    grantIds.map(async (grantId) =>
      (await services.store.decisions.get(campaignId, grantId)) ? grantId : undefined,
    ),
  );
  const done = new Set(decided.filter((id): id is string => id !== undefined));
  return new Set(grantIds.filter((id) => !done.has(id)));
}

async function progressOf(services: Services, campaign: Campaign): Promise<HomeCampaign> {
  const tasks = await services.store.tasks.list(campaign.campaignId);
  const open = tasks.filter((task) => OPEN.has(task.status) && task.grantCount > task.decidedCount);
  const due = open.map((task) => task.dueAt).sort()[0];
  return {
    campaignId: campaign.campaignId,
    status: campaign.status,
    trigger: campaign.trigger,
    startedAt: campaign.startedAt,
    scope: campaign.scope ?? [],
    reason: campaign.reason ?? null,
    reviewers: tasks.length,
    reviewersDone: tasks.length - open.length,
    grants: tasks.reduce((sum, task) => sum + task.grantCount, 0),
    decided: tasks.reduce((sum, task) => sum + Math.min(task.decidedCount, task.grantCount), 0),
    waitingOn: open
      .map((task) => ({ reviewer: task.reviewer, left: task.grantCount - task.decidedCount }))
      .sort((a, b) => b.left - a.left || a.reviewer.localeCompare(b.reviewer)),
    ...(due ? { dueAt: due } : {}),
  };
}

/** The Home view for what homeContent read: Block Kit within Slack's limits. */
export function buildHomeView(content: HomeContent): HomeView {
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      block_id: 'home_header',
      text: { type: 'plain_text', text: 'Access reviews', emoji: true },
    },
  ];
  if (!content.login) {
    blocks.push(
      section(
        'home_unknown',
        'You are not one of the people this access review knows (your Slack email is not in its configuration), so nothing is assigned to you.',
      ),
    );
  }
  blocks.push(section('home_tasks_title', '*Your reviews*'));
  if (content.tasks.length === 0) {
    blocks.push(context('home_tasks_none', 'Nothing waits for your decision.'));
  }
  for (const task of content.tasks) {
    blocks.push(
      section(
        `task:${task.campaignId}`,
        `*${task.campaignId}*: ${plural(task.grantsLeft, 'grant')} of ${task.grantCount} left to decide, due ${dateOf(task.dueAt)}.${
          task.channelId && task.messageTs
            ? ` ${messageLink(task.channelId, task.messageTs, 'Open the review message')}`
            : ''
        }`,
      ),
    );
  }
  if (content.handovers.length > 0) {
    blocks.push(section('home_handovers_title', '*Handed to you*'));
    for (const handover of content.handovers) {
      const from = handover.from
        .map(({ reviewer, by }) => `${reviewer} (${by === 'escalation' ? 'escalated' : 'delegated'})`)
        .join(', ');
      blocks.push(
        section(
          `handover:${handover.campaignId}`,
          `*${handover.campaignId}*: ${plural(handover.grants, 'grant')} from ${from} to decide.${
            handover.channelId && handover.messageTs
              ? ` ${messageLink(handover.channelId, handover.messageTs, 'Open the message')}`
              : ''
          }`,
        ),
      );
    }
  }
  if (content.campaigns) {
    blocks.push({ type: 'divider', block_id: 'home_divider' });
    blocks.push(section('home_campaigns_title', '*Running campaigns* (security team)'));
    if (content.campaigns.length === 0)
      blocks.push(context('home_campaigns_none', 'No campaign is running.'));
    for (const campaign of content.campaigns) {
      const scope = campaign.scope.length > 0 ? `scope ${campaign.scope.join(', ')}` : 'everything';
      const lines = [
        `*${campaign.campaignId}* (${campaign.status.replace('_', ' ')}; ${scope}; started ${dateOf(campaign.startedAt)} by ${campaign.trigger})`,
        `${campaign.decided} of ${plural(campaign.grants, 'grant')} decided; ${campaign.reviewersDone} of ${plural(campaign.reviewers, 'reviewer')} done${
          campaign.dueAt ? `; next deadline ${dateOf(campaign.dueAt)}` : ''
        }.`,
      ];
      if (campaign.reason) lines.push(`Reason: ${campaign.reason}`);
      if (campaign.waitingOn.length > 0) {
        lines.push(`Waiting on: ${campaign.waitingOn.map((w) => `${w.reviewer} (${w.left})`).join(', ')}`);
      }
      blocks.push(section(`campaign:${campaign.campaignId}`, lines.join('\n')));
    }
  }
  if (content.moreCampaigns > 0) {
    blocks.push(
      context(
        'home_more',
        `${plural(content.moreCampaigns, 'more running campaign')} not shown (newest ${HOME_MAX_CAMPAIGNS} only).`,
      ),
    );
  }
  if (content.membershipUnknown) {
    blocks.push(
      context(
        'home_membership',
        'Slack could not say whether you are in the security team; its campaign list is left out.',
      ),
    );
  }
  if (blocks.length > MAX_HOME_BLOCKS) {
    const kept = blocks.slice(0, MAX_HOME_BLOCKS - 1);
    kept.push(context('home_cut', `${blocks.length - kept.length} more lines not shown.`));
    return { type: 'home', callback_id: 'access_review_home', blocks: kept };
  }
  return { type: 'home', callback_id: 'access_review_home', blocks };
}

/**
 * On `app_home_opened` (the Home tab; the Messages tab sends the same event with `tab: messages`
 * and is left alone), publishes the person's Home view. Events API retries are harmless: a
 * publish replaces the view. A failure is logged and the next opening tries again.
 */
export function registerHomeListener(
  app: App,
  services: Services,
  dependencies: Partial<HomeDependencies> = {},
): void {
  const deps: HomeDependencies = {
    membership: dependencies.membership ?? createMembershipChecker({ slack: services.slack }),
  };
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== undefined && event.tab !== 'home') return;
    try {
      const view = buildHomeView(await homeContent(services, event.user, deps));
      const slack = await services.slack();
      await slack.views.publish({ user_id: event.user, view });
    } catch (error) {
      services.log.warn('app home not published', {
        who: event.user,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  });
}

function section(blockId: string, text: string): KnownBlock {
  return {
    type: 'section',
    block_id: blockId.slice(0, 255),
    text: {
      type: 'mrkdwn',
      text: text.length > SECTION_TEXT_MAX ? `${text.slice(0, SECTION_TEXT_MAX - 1)}…` : text,
    },
  };
}

function context(blockId: string, text: string): KnownBlock {
  return { type: 'context', block_id: blockId, elements: [{ type: 'mrkdwn', text }] };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A date Slack shows in the reader's time zone, with the UTC day as the fallback text. */
function dateOf(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new AppHomeError(`not a date: ${JSON.stringify(iso)}`);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${iso.slice(0, 16).replace('T', ' ')} UTC>`;
}

/** A link to a message in a conversation (Slack's archive link; the client opens the DM). */
function messageLink(channelId: string, messageTs: string, label: string): string {
  return `<https://slack.com/archives/${channelId}/p${messageTs.replace('.', '')}|${label}>`;
}
