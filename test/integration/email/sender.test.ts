import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import {
  classifyError,
  MalformedRequestError,
  ThrottledError,
  TransientError,
} from '../../../functions/core/errors';
import {
  EmailIdentityError,
  EmailRejectedError,
  EmailSendingPausedError,
  type OutgoingEmail,
  sesEmailSender,
} from '../../../functions/email/sender';
import { type LocalSes, SES_FAULTS, startLocalSes } from '../../support/local-ses';

// The real @aws-sdk/client-sesv2 against aws-ses-v2-local behind the front in local-ses.ts, which
// refuses what SES refuses and fails the way SES fails (status, x-amzn-ErrorType, message).

const FROM = 'access-review@acme.example';
let ses: LocalSes;

function emailConfig(overrides: Record<string, unknown> = {}) {
  return parseConfig({
    github: { organization: 'acme' },
    routing: { fallbackReviewers: ['alice'] },
    people: [{ github: 'alice', email: 'alice@acme.example' }],
    notifications: {
      email: { from: FROM, to: ['security@acme.example'], endpoint: ses.endpoint, ...overrides },
    },
  }).notifications!.email!;
}

const message: OutgoingEmail = {
  purpose: 'summary',
  to: ['security@acme.example', 'ciso@acme.example'],
  subject: 'access-review: 2026-Q4 complete',
  text: 'plain body ✓',
  html: '<!DOCTYPE html><html lang="en"><body><p>html body ✓</p></body></html>',
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  ses = await startLocalSes({ verifiedIdentities: ['acme.example'], configurationSets: ['access-review'] });
});

afterAll(async () => {
  await ses?.close();
});

beforeEach(() => ses.clear());

describe('sesEmailSender', () => {
  it('sends a text and an HTML part as the configured sender, tagged with its purpose', async () => {
    const sender = sesEmailSender(emailConfig({ configurationSet: 'access-review' }), ses.clientConfig);
    const { messageId } = await sender.send(message);
    const [request] = ses.requests();
    expect(request?.body).toEqual({
      FromEmailAddress: FROM,
      Destination: { ToAddresses: message.to },
      ConfigurationSetName: 'access-review',
      EmailTags: [{ Name: 'purpose', Value: 'summary' }],
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.text, Charset: 'UTF-8' },
            Html: { Data: message.html, Charset: 'UTF-8' },
          },
        },
      },
    });
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-west-1\/ses\//,
    );
    expect(await ses.emails()).toEqual([
      {
        messageId,
        from: FROM,
        to: message.to,
        cc: [],
        bcc: [],
        subject: message.subject,
        text: message.text,
        html: message.html,
        tags: [{ Name: 'purpose', Value: 'summary' }],
        configurationSet: 'access-review',
      },
    ]);
  });

  it('flattens a subject to one line', async () => {
    const sender = sesEmailSender(emailConfig(), ses.clientConfig);
    await sender.send({ ...message, subject: 'a\r\nBcc: mallory@evil.example\u0000' });
    expect((await ses.emails())[0]?.subject).toBe('a Bcc: mallory@evil.example');
  });

  it('refuses a recipient that is not an address before calling SES, without naming it', async () => {
    const sender = sesEmailSender(emailConfig(), ses.clientConfig);
    const error = await failure(sender.send({ ...message, to: ['security@acme.example', 'not-an-address'] }));
    expect(error).toBeInstanceOf(MalformedRequestError);
    expect(error.message).toBe('a summary email has 1 recipient that is not an email address');
    await expect(sender.send({ ...message, to: [] })).rejects.toThrow('a summary email needs a recipient');
    expect(ses.requests()).toEqual([]);
  });

  it('names an unverified sender identity as a permission to fix, without the address', async () => {
    const sender = sesEmailSender(
      { ...emailConfig(), from: 'access-review@other.example', identity: 'other.example' },
      ses.clientConfig,
    );
    const error = await failure(sender.send(message));
    expect(error).toBeInstanceOf(EmailIdentityError);
    expect(classifyError(error)).toBe('permission');
    expect((error as EmailIdentityError).missing).toContain('a verified SES identity other.example');
    expect(error.message).toContain('MessageRejected: Email address is not verified');
    expect(error.message).not.toMatch(/@/);
    expect(await ses.emails()).toEqual([]);
  });

  it('names a configuration set that does not exist', async () => {
    const sender = sesEmailSender(emailConfig({ configurationSet: 'missing-set' }), ses.clientConfig);
    const error = await failure(sender.send(message));
    expect(error).toBeInstanceOf(EmailIdentityError);
    expect((error as EmailIdentityError).missing).toBe('the SES configuration set missing-set');
  });

  const faults: Array<[keyof typeof SES_FAULTS, string, string, new (...args: never[]) => Error]> = [
    ['throttled', 'ThrottledError', 'throttled', ThrottledError],
    ['dailyQuota', 'ThrottledError', 'throttled', ThrottledError],
    ['unavailable', 'TransientError', 'unavailable', TransientError],
    ['paused', 'EmailSendingPausedError', 'internal', EmailSendingPausedError],
    ['suspended', 'EmailSendingPausedError', 'internal', EmailSendingPausedError],
    ['mailFrom', 'EmailIdentityError', 'permission', EmailIdentityError],
  ];
  it.each(faults)('classifies SES %s as %s (%s)', async (fault, _name, kind, type) => {
    const sender = sesEmailSender(emailConfig(), ses.clientConfig);
    ses.failNext(SES_FAULTS[fault]);
    const error = await failure(sender.send(message));
    expect(error).toBeInstanceOf(type);
    expect(error.name).toBe(type.name);
    expect(classifyError(error)).toBe(kind);
    expect((error.cause as Error).name).toBe(SES_FAULTS[fault].name);
    // The next send goes through: the fault was one answer, not a state.
    await sender.send(message);
    expect(await ses.emails()).toHaveLength(1);
  });

  it('calls a refused message a rejection, not a transient fault', async () => {
    const sender = sesEmailSender(emailConfig(), ses.clientConfig);
    ses.failNext({ name: 'MessageRejected', status: 400, message: 'Message length is more than 40 MB' });
    const error = await failure(sender.send(message));
    expect(error).toBeInstanceOf(EmailRejectedError);
    expect(classifyError(error)).toBe('internal');
  });
});
