import { SESv2Client, type SESv2ClientConfig, SendEmailCommand } from '@aws-sdk/client-sesv2';
import * as z from 'zod';
import { type EmailNotificationConfig, sesIdentity } from '../core/config';
import {
  AccessReviewError,
  CallTimeoutError,
  classifyError,
  MalformedRequestError,
  PermissionError,
  ThrottledError,
  TransientError,
} from '../core/errors';
import type { EmailSender, OutgoingEmail } from './types';

export type { EmailPurpose, EmailSender, OutgoingEmail } from './types';

/**
 * SES refused to send as the configured sender: the identity is not verified in the region, the
 * MAIL FROM domain is not, the role may not send as it (the IAM condition on ses:FromAddress), or
 * the configuration set does not exist. Retrying cannot help; `missing` says what to fix.
 */
export class EmailIdentityError extends PermissionError {}

/**
 * SES refused this message (MessageRejected for content, a recipient the SES sandbox has not
 * verified, a bad request). Not retried: the same message would be refused again.
 */
export class EmailRejectedError extends AccessReviewError {}

/** The account may not send at all (sending paused, account suspended): someone must act in SES. */
export class EmailSendingPausedError extends AccessReviewError {}

/** What SES's own messages name (recipients, the sender) is never passed on: logs and errors carry none. */
export function redactAddresses(text: string): string {
  return text.replace(/[^\s<>"'(),;:[\]]+@[^\s<>"'(),;:[\]]+/g, '<address>');
}

const address = z.email();

/**
 * Subjects are one header line: control characters (a CR/LF would start a new header in a raw
 * message, and SES refuses some outright) become spaces, and the length is bounded.
 */
export function subjectLine(subject: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  const flat = subject.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

/**
 * SendEmail through SES v2 as the configured sender (From, configuration set). `clientConfig`
 * carries the call budget (functions/core/call-budget.ts) on Lambda, and an endpoint and dummy
 * credentials for aws-ses-v2-local on the embedded host and in tests; on Lambda the role's
 * credentials are used. Every message has a plain-text and an HTML part, a `purpose` tag (SES event
 * publishing groups by it), and nothing of the recipients reaches a log or an error message.
 */
export function sesEmailSender(
  config: EmailNotificationConfig,
  clientConfig: SESv2ClientConfig = {},
): EmailSender {
  const client = new SESv2Client({
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...clientConfig,
  });
  const identity = sesIdentity(config);
  return {
    async send(email: OutgoingEmail) {
      checkRecipients(email);
      try {
        const sent = await client.send(
          new SendEmailCommand({
            FromEmailAddress: config.from,
            Destination: { ToAddresses: [...email.to] },
            ...(config.configurationSet ? { ConfigurationSetName: config.configurationSet } : {}),
            EmailTags: [{ Name: 'purpose', Value: email.purpose }],
            Content: {
              Simple: {
                Subject: { Data: subjectLine(email.subject), Charset: 'UTF-8' },
                Body: {
                  Text: { Data: email.text, Charset: 'UTF-8' },
                  Html: { Data: email.html, Charset: 'UTF-8' },
                },
              },
            },
          }),
        );
        return { messageId: sent.MessageId };
      } catch (error) {
        throw sesError(error, identity, config.configurationSet);
      }
    },
  };
}

/** aws-ses-v2-local accepts any string as an address; SES refuses the whole message for one bad one. */
function checkRecipients(email: OutgoingEmail): void {
  if (email.to.length === 0) throw new MalformedRequestError(`a ${email.purpose} email needs a recipient`);
  const bad = email.to.filter((to) => !address.safeParse(to).success).length;
  if (bad > 0) {
    throw new MalformedRequestError(
      `a ${email.purpose} email has ${bad} recipient${bad === 1 ? '' : 's'} that ${bad === 1 ? 'is not an' : 'are not'} email address${bad === 1 ? '' : 'es'}`,
    );
  }
}

const IDENTITY_ERRORS = new Set(['MailFromDomainNotVerifiedException', 'NotFoundException']);
const PAUSED_ERRORS = new Set(['SendingPausedException', 'AccountSuspendedException']);
/** SES v2 says "slow down" (sending rate) or "quota reached" (daily quota) with these. */
const THROTTLED_ERRORS = new Set(['TooManyRequestsException', 'LimitExceededException']);

/**
 * An SES failure as one of our named errors, with the SES error as its cause and no address in
 * its message. Throttling and quotas are ThrottledError, faults and lost connections TransientError
 * (or CallTimeoutError): the workflow retries those names. A refused identity is
 * EmailIdentityError (a permission: fail fast), a refused message EmailRejectedError.
 */
export function sesError(error: unknown, identity: string, configurationSet?: string): Error {
  const name = error instanceof Error ? error.name : 'unknown';
  const said = redactAddresses(error instanceof Error ? error.message : String(error));
  const what = `SES SendEmail failed (${name}: ${said})`;
  if (THROTTLED_ERRORS.has(name)) return new ThrottledError(what, { cause: error });
  if (PAUSED_ERRORS.has(name)) {
    return new EmailSendingPausedError(`${what}: the account may not send; see the SES console`, {
      cause: error,
    });
  }
  // SES says "Email address is not verified. The following identities failed the check…": the
  // From identity, or in the SES sandbox a recipient. Either way a person must verify something.
  const unverified = name === 'MessageRejected' && /not verified/i.test(said);
  if (IDENTITY_ERRORS.has(name) || unverified) {
    const missing =
      name === 'NotFoundException' && configurationSet
        ? `the SES configuration set ${configurationSet}`
        : `a verified SES identity ${identity} (and, in the SES sandbox, verified recipients)`;
    return new EmailIdentityError(`${what}: SES needs ${missing}`, missing, { cause: error });
  }
  if (name === 'MessageRejected' || name === 'BadRequestException') {
    return new EmailRejectedError(what, { cause: error });
  }
  switch (classifyError(error)) {
    case 'permission':
    case 'authentication':
      return new EmailIdentityError(
        `${what}: the role may send only as ${identity} (ses:SendEmail with ses:FromAddress)`,
        `ses:SendEmail on identity/${identity}`,
        { cause: error },
      );
    case 'throttled':
      return new ThrottledError(what, { cause: error });
    case 'timeout':
      return new CallTimeoutError(what, { cause: error });
    case 'unavailable':
      return new TransientError(what, { cause: error });
    default:
      return new EmailRejectedError(what, { cause: error });
  }
}
