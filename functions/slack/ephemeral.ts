import type { RespondFn } from '@slack/bolt';
import type { Logger } from '../runtime/services';

/**
 * A reply only the clicker sees, through the interaction's response_url: it reaches them even
 * where they are not a member of the channel (a replayed or shared button). A reply that cannot be
 * sent is logged, never thrown: the request has been answered already.
 */
export function ephemeralReply(respond: RespondFn, log: Logger): (text: string) => Promise<void> {
  return async (text) => {
    try {
      await respond({ response_type: 'ephemeral', replace_original: false, text });
    } catch (error) {
      log.warn('could not send an ephemeral reply', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
}
