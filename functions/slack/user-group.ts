import type { WebClient } from '@slack/web-api';
import { AccessReviewError } from '../core/errors';

/**
 * How long a membership read from Slack is trusted. Short on purpose: someone removed from the
 * security team's group loses the command within seconds, and a burst of commands (status, then
 * cancel) costs one usergroups.users.list call (Tier 2, about 20 a minute).
 */
export const MEMBERSHIP_CACHE_MS = 5_000;

/** Slack could not say who is in the group (an API error, a network fault, an odd answer). */
export class UserGroupLookupError extends AccessReviewError {}

export interface MembershipChecker {
  /**
   * Whether `userId` is a member of the user group `groupId`, read from Slack (never from the
   * request). Throws UserGroupLookupError when Slack did not answer with the list: the caller
   * refuses, it never allows on a failed lookup.
   */
  isMember(groupId: string, userId: string): Promise<boolean>;
}

/**
 * Membership from usergroups.users.list (https://docs.slack.dev/reference/methods/usergroups.users.list,
 * scope usergroups:read). Disabled users are left out (`include_disabled: false`). Each group's
 * list is cached for `ttlMs`; a failed call is not cached, so the next command asks again.
 */
export function createMembershipChecker(options: {
  slack: () => Promise<WebClient>;
  ttlMs?: number;
  /** Milliseconds, monotonic; tests move it. */
  clock?: () => number;
}): MembershipChecker {
  const ttlMs = options.ttlMs ?? MEMBERSHIP_CACHE_MS;
  const clock = options.clock ?? (() => performance.now());
  const cache = new Map<string, { members: ReadonlySet<string>; readAt: number }>();

  async function members(groupId: string): Promise<ReadonlySet<string>> {
    const cached = cache.get(groupId);
    if (cached && clock() - cached.readAt < ttlMs) return cached.members;
    let answer: unknown;
    try {
      const client = await options.slack();
      answer = await client.usergroups.users.list({ usergroup: groupId, include_disabled: false });
    } catch (error) {
      const code = slackErrorCode(error);
      throw new UserGroupLookupError(
        `usergroups.users.list for ${groupId} failed${code ? `: ${code}` : ''}`,
        { cause: error },
      );
    }
    const users = (answer as { ok?: unknown; users?: unknown }).users;
    if (
      (answer as { ok?: unknown }).ok !== true ||
      !Array.isArray(users) ||
      !users.every((user) => typeof user === 'string')
    ) {
      throw new UserGroupLookupError(`usergroups.users.list for ${groupId} did not return a list of users`);
    }
    const set = new Set<string>(users);
    cache.set(groupId, { members: set, readAt: clock() });
    return set;
  }

  return {
    async isMember(groupId, userId) {
      return (await members(groupId)).has(userId);
    },
  };
}

/** Slack's error code (`no_such_subteam`, `missing_scope`…) from a WebClient platform error. */
function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  if (typeof data?.error === 'string') return data.error.slice(0, 60);
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code.slice(0, 60) : undefined;
}
