import type { App } from '@slack/bolt';
import type { Services } from '../runtime/services';

/** Action ids of the security team's approval buttons start so; the catch-all listener leaves them alone. */
export const APPROVAL_ACTION_PREFIX = 'guard_';

/** The security team's approve / reject buttons for a batch of revocations held by the guard. */
export function registerApprovalListeners(_app: App, _services: Services): void {
  // Filled in with the revocation guard (issue 7).
}
