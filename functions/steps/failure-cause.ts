import { parseJsonRecord } from '../core/records';

/** The cause's message kept in the event and on the campaign (the rest stays in the execution history). */
export const FAILURE_CAUSE_MAX_CHARS = 1_000;

/**
 * The message of a Cause. On AWS a Lambda error's Cause is JSON (`errorType`, `errorMessage`,
 * `trace`): only the message is kept, never the stack. Locally it is the message itself.
 */
export function causeMessage(cause: string | undefined, maxChars = FAILURE_CAUSE_MAX_CHARS): string {
  if (!cause) return '';
  let message = cause;
  try {
    const parsed = parseJsonRecord(cause, 'the Cause of a failed state');
    if (
      parsed &&
      typeof parsed === 'object' &&
      'errorMessage' in parsed &&
      typeof parsed.errorMessage === 'string'
    ) {
      message = parsed.errorMessage;
    }
  } catch {
    // Not JSON (a States.* error, or the embedded host): the message as it came.
  }
  return message.length > maxChars ? `${message.slice(0, maxChars - 1)}…` : message;
}
