import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { slackWebClientOptions } from '../../functions/core/call-budget';
import { type AccessReviewConfig, parseConfig } from '../../functions/core/config';
import { MalformedRequestError } from '../../functions/core/errors';
import { sesEmailSender } from '../../functions/email/sender';
import type { Services } from '../../functions/runtime/services';
import {
  type ExecutionStatusChangeEvent,
  FailureNoticeError,
  notifyFailure,
  redriveInstruction,
} from '../../functions/steps/notify-failure';
import { FailureNoticeLedger } from '../../functions/store/failure-notices';
import type { Store } from '../../functions/store/index';
import type { TableRef } from '../../functions/store/table';
import { handlerSpec } from '../../lib/aws/handlers';
import type { LocalDynamo } from '../../lib/local/dynamo';
import { type SlackSandbox, startSlackSandbox } from '../../sandbox/slack/server';
import { createTestCampaign, startTestStore, TEST_CONFIG, testServices } from '../support/local-store';

// The notify step against the stand-ins of its three dependencies: aws-ses-v2-local for SES
// (started in this process; GET /store shows what was sent), the Slack sandbox for
// chat.postMessage (it checks the Block Kit), and dynalite for the campaign and the marker.

const BOT_TOKEN = 'xoxb-notify-failure-test';
const SECURITY_CHANNEL = 'C0SECURITY';
const FROM = 'access-review@acme.example';
const TO = ['security@acme.example', 'ciso@acme.example'];
const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:ReviewStateMachine';

interface SentEmail {
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let ses: Server;
let sesUrl: string;
let config: AccessReviewConfig;
let actions: Set<string>;
let table: TableRef;
let executions = 0;

async function sentEmails(): Promise<SentEmail[]> {
  const response = await fetch(`${sesUrl}/store`);
  return ((await response.json()) as { emails: SentEmail[] }).emails;
}

function services(overrides: Partial<Services> = {}): Services {
  const client = new WebClient(BOT_TOKEN, { ...slackWebClientOptions(), slackApiUrl: slack.apiUrl });
  return testServices(store, { config, slack: async () => client, ...overrides });
}

const localCredentials = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

function email(endpoint = sesUrl) {
  return sesEmailSender(
    { ...config.notifications!.email!, endpoint },
    { ...localCredentials, maxAttempts: 1 },
  );
}

/** An execution that started a second ago, named after its campaign (as createTestCampaign records it). */
function failedExecution(
  name: string,
  detail: Partial<ExecutionStatusChangeEvent['detail']> = {},
): ExecutionStatusChangeEvent {
  return {
    detail: {
      executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${name}`,
      name,
      status: 'FAILED',
      startDate: Date.now() - 1_000,
      stopDate: Date.now(),
      error: 'States.TaskFailed',
      cause: '{"errorType":"Error","errorMessage":"should be replaced by the recorded cause"}',
      ...detail,
    },
  };
}

/** A campaign in `revoking` that failed in ApplyRevocations, with two revoke decisions, one applied. */
async function campaignFailedWhileRevoking(campaignId: string, failed: Record<string, unknown> = {}) {
  await createTestCampaign(store, campaignId, 'revoking', new Date());
  for (const grantId of ['g-applied', 'g-pending', 'g-kept']) {
    await store.decisions.record({
      campaignId,
      grantId,
      decision: grantId === 'g-kept' ? 'keep' : 'revoke',
      reviewer: 'alice',
      decidedBySlackUserId: 'U0ALICE01',
      decidedAt: new Date().toISOString(),
      channel: 'slack',
    });
  }
  const at = new Date().toISOString();
  await store.outcomes.beginRevocation(campaignId, 'g-applied', at);
  await store.outcomes.finishRevocation({ campaignId, grantId: 'g-applied', status: 'removed', at });
  await store.outcomes.beginRevocation(campaignId, 'g-pending', at);
  await store.events.append(
    campaignId,
    'campaign_failed',
    {
      state: 'ApplyRevocations',
      error: 'AuthenticationError',
      cause: 'GitHub DELETE /orgs/acme/members/mallory failed with 401: Bad credentials',
      classification: 'authentication',
      statusBefore: 'revoking',
      attempt: 0,
      executionName: campaignId,
      ...failed,
    },
    new Date(),
  );
}

function nextName(prefix: string): string {
  executions += 1;
  return `${prefix}-${executions}`;
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('notify-failure'));
  actions = new Set();
  table = dynamo.recordingTable((action) => actions.add(action));
  slack = await startSlackSandbox({
    users: [{ id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' }],
    botToken: BOT_TOKEN,
    channels: [{ id: SECURITY_CHANNEL, name: 'security', members: ['U0ALICE01'] }],
  });
  const module = (await import('aws-ses-v2-local')) as unknown as {
    default: ((options: { host: string; port: number }) => Promise<Server>) | { default: never };
  };
  const start = (module.default as { default?: unknown }).default ?? module.default;
  ses = await (start as (options: { host: string; port: number }) => Promise<Server>)({
    host: '127.0.0.1',
    port: 0,
  });
  sesUrl = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
  config = parseConfig({
    ...(JSON.parse(JSON.stringify(TEST_CONFIG)) as Record<string, unknown>),
    notifications: { slackChannel: SECURITY_CHANNEL, email: { from: FROM, to: TO } },
  });
  // The table comes from a synth of the stack: seconds on an idle machine, more on a loaded one.
}, 180_000);

afterAll(async () => {
  await slack?.close();
  await new Promise<void>((resolve) => (ses ? ses.close(() => resolve()) : resolve()));
  await dynamo?.close();
});

beforeEach(async () => {
  await fetch(`${sesUrl}/clear-store`, { method: 'POST' });
});

describe('notify-failure', () => {
  it('emails and posts which campaign failed, where, why, what is pending and how to resume', async () => {
    const name = nextName('2026-Q4-revoking');
    await campaignFailedWhileRevoking(name);
    const event = failedExecution(name);
    const before = slack.messages(SECURITY_CHANNEL).length;

    const result = await notifyFailure(event, services(), { table, email: email() });

    expect(result).toEqual({
      executionArn: event.detail.executionArn,
      campaignId: name,
      email: 'sent',
      slack: 'sent',
    });
    const [mail, ...more] = await sentEmails();
    expect(more).toEqual([]);
    expect(mail!.from).toBe(FROM);
    expect(mail!.destination.to).toEqual(TO);
    expect(mail!.subject).toBe(`access-review: Campaign ${name} failed in ApplyRevocations`);
    const text = mail!.body.text!;
    expect(text).toContain(
      'Why: authentication (AuthenticationError): GitHub DELETE /orgs/acme/members/mallory failed with 401: Bad credentials',
    );
    expect(text).toContain('Pending: 1 revocation is pending');
    expect(text).toContain(`Resume: ${redriveInstruction(event.detail.executionArn)}`);
    expect(text).toContain(`Execution: ${event.detail.executionArn}`);
    // The same lines as HTML, label and value, for mail clients that show the HTML part.
    const html = mail!.body.html!;
    expect(html).toMatch(/<th scope="row"[^>]*>Pending<\/th><td[^>]*>1 revocation is pending/);
    expect(html).toContain('<html lang="en">');

    const posted = slack.messages(SECURITY_CHANNEL).slice(before);
    expect(posted).toHaveLength(1);
    const message = posted[0]!;
    expect(message.text).toBe(text);
    const blocks = JSON.stringify(message.blocks);
    expect(message.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: `⚠️ Campaign ${name} failed in ApplyRevocations` },
    });
    expect(blocks).toContain('authentication (AuthenticationError)');
    expect(blocks).toContain('1 revocation is pending');
    expect(blocks).toContain(
      `aws stepfunctions redrive-execution --execution-arn ${event.detail.executionArn}`,
    );
    expect(await new FailureNoticeLedger(dynamo.table).sentAt(event.detail.executionArn, 0)).toEqual({
      email: expect.any(String),
      slack: expect.any(String),
    });
    // Only what its IAM policy allows (lib/aws/handlers.ts).
    expect(
      [...actions].filter((action) => !handlerSpec('notify-failure').tableActions.includes(action as never)),
    ).toEqual([]);
  });

  it('sends once per execution: a redelivered event, and two deliveries at the same time', async () => {
    const name = nextName('2026-Q4-twice');
    await campaignFailedWhileRevoking(name);
    const event = failedExecution(name);
    const before = slack.messages(SECURITY_CHANNEL).length;

    const together = await Promise.all([
      notifyFailure(event, services(), { table, email: email() }),
      notifyFailure(event, services(), { table, email: email() }),
    ]);
    const again = await notifyFailure(event, services(), { table, email: email() });

    expect((await sentEmails()).length).toBe(1);
    expect(slack.messages(SECURITY_CHANNEL).length - before).toBe(1);
    // The other delivery found the claim (still sending) or the mark (already sent).
    for (const result of together) {
      expect(['sent', 'in_progress', 'already_sent']).toContain(result.email);
      expect(['sent', 'in_progress', 'already_sent']).toContain(result.slack);
    }
    expect(together.filter((result) => result.email === 'sent')).toHaveLength(1);
    expect(together.filter((result) => result.slack === 'sent')).toHaveLength(1);
    expect(again).toMatchObject({ email: 'already_sent', slack: 'already_sent' });

    // A redriven execution that fails again is a new failure, told again.
    const redriven = failedExecution(name, { redriveCount: 1, startDate: event.detail.startDate });
    expect(await notifyFailure(redriven, services(), { table, email: email() })).toMatchObject({
      email: 'sent',
      slack: 'sent',
    });
    expect((await sentEmails()).length).toBe(2);
  });

  it('posts to Slack when SES is down, then fails so that the retry sends only the email', async () => {
    const name = nextName('2026-Q4-no-ses');
    await campaignFailedWhileRevoking(name);
    const event = failedExecution(name);
    const before = slack.messages(SECURITY_CHANNEL).length;
    const closed = await closedPort();

    const first = notifyFailure(event, services(), { table, email: email(`http://127.0.0.1:${closed}`) });
    await expect(first).rejects.toThrowError(FailureNoticeError);
    await expect(first).rejects.toThrowError(/not sent by email; the retry sends only what is missing/);
    expect(slack.messages(SECURITY_CHANNEL).length - before).toBe(1);
    expect(await sentEmails()).toEqual([]);

    const retry = await notifyFailure(event, services(), { table, email: email() });
    expect(retry).toMatchObject({ email: 'sent', slack: 'already_sent' });
    expect((await sentEmails()).length).toBe(1);
    expect(slack.messages(SECURITY_CHANNEL).length - before).toBe(1);
  });

  it('emails when Slack refuses, then fails so that the retry posts only to Slack', async () => {
    const name = nextName('2026-Q4-no-slack');
    await campaignFailedWhileRevoking(name);
    const event = failedExecution(name);
    const before = slack.messages(SECURITY_CHANNEL).length;
    slack.failNext('chat.postMessage', { error: 'not_in_channel' });

    await expect(notifyFailure(event, services(), { table, email: email() })).rejects.toThrowError(
      /not sent by Slack;/,
    );
    expect((await sentEmails()).length).toBe(1);
    expect(slack.messages(SECURITY_CHANNEL).length - before).toBe(0);

    expect(await notifyFailure(event, services(), { table, email: email() })).toMatchObject({
      email: 'already_sent',
      slack: 'sent',
    });
    expect((await sentEmails()).length).toBe(1);
    expect(slack.messages(SECURITY_CHANNEL).length - before).toBe(1);
  });

  it('fails with both causes when both channels fail, and marks nothing sent', async () => {
    const name = nextName('2026-Q4-nothing');
    await campaignFailedWhileRevoking(name);
    const event = failedExecution(name);
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    const closed = await closedPort();

    const error = await notifyFailure(event, services(), {
      table,
      email: email(`http://127.0.0.1:${closed}`),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FailureNoticeError);
    expect((error as Error).message).toMatch(/not sent by email and Slack/);
    expect((error as Error).cause).toBeInstanceOf(AggregateError);
    expect(((error as Error).cause as AggregateError).errors).toHaveLength(2);
    expect(await new FailureNoticeLedger(dynamo.table).sentAt(event.detail.executionArn, 0)).toEqual({});
    expect(await notifyFailure(event, services(), { table, email: email() })).toMatchObject({
      email: 'sent',
      slack: 'sent',
    });
  });

  it('tells about an execution that failed before it recorded a campaign, from the execution’s own error', async () => {
    const name = nextName('no-campaign');
    const event = failedExecution(name, {
      error: 'States.Runtime',
      cause: 'An error occurred while executing the state StartCampaign',
    });
    const result = await notifyFailure(event, services(), { table, email: email() });
    expect(result).toMatchObject({ campaignId: null, email: 'sent', slack: 'sent' });
    const [mail] = await sentEmails();
    expect(mail!.subject).toBe(`access-review: Execution ${name} failed`);
    expect(mail!.body.text).toContain(
      'Why: internal (States.Runtime): An error occurred while executing the state StartCampaign',
    );
    expect(mail!.body.text).toContain('Pending: No campaign was recorded');
    expect(mail!.body.text).toContain('Campaign: none recorded');
  });

  it('explains a timed-out and an aborted execution, which record no campaign_failed', async () => {
    const timedOut = nextName('2026-Q4-timeout');
    await createTestCampaign(store, timedOut, 'in_review');
    await notifyFailure(
      failedExecution(timedOut, { status: 'TIMED_OUT', error: null, cause: null }),
      services(),
      { table, email: email() },
    );
    const aborted = nextName('2026-Q4-aborted');
    await createTestCampaign(store, aborted, 'in_review');
    await notifyFailure(
      failedExecution(aborted, { status: 'ABORTED', error: null, cause: null }),
      services(),
      {
        table,
        email: email(),
      },
    );
    const [first, second] = await sentEmails();
    expect(first!.subject).toBe(`access-review: Campaign ${timedOut} timed out`);
    expect(first!.body.text).toContain(
      'Why: timeout (States.Timeout): the execution ran longer than the state machine allows',
    );
    expect(first!.body.text).toContain('Pending: No revocation is pending.');
    expect(second!.subject).toBe(`access-review: Campaign ${aborted} was aborted`);
    expect(second!.body.text).toContain('Why: unclassified: someone stopped the execution (StopExecution)');
  });

  it('counts pending revocations from the counts recorded with the failure when there are some', async () => {
    const name = nextName('2026-Q4-counted');
    await campaignFailedWhileRevoking(name, {
      counts: {
        revoked: 40,
        revocationsApplied: 12,
        revocationsFailed: 3,
        revocationsRejected: 2,
        revocationsRefused: 1,
        remediationsRequired: 4,
      },
    });
    await notifyFailure(failedExecution(name), services(), { table, email: email() });
    expect((await sentEmails())[0]!.body.text).toContain('Pending: 18 revocations are pending');
  });

  it('never repeats a credential that reached an error message', async () => {
    const name = nextName('2026-Q4-leaky');
    const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
    const slackToken = 'xoxb-1234567890-abcdefghij';
    await campaignFailedWhileRevoking(name, {
      cause: `request with Authorization: Bearer ${token} failed; slack said ${slackToken}; password=hunter22`,
    });
    await notifyFailure(failedExecution(name), services(), { table, email: email() });
    const [mail] = await sentEmails();
    const posted = slack.messages(SECURITY_CHANNEL).at(-1)!;
    for (const output of [mail!.subject, mail!.body.text!, posted.text, JSON.stringify(posted.blocks)]) {
      expect(output).not.toContain(token);
      expect(output).not.toContain(slackToken);
      expect(output).not.toContain('hunter22');
    }
    expect(mail!.body.text).toContain('[redacted]');
  });

  it('sends nothing and succeeds without a notifications section (the SNS topic has the event)', async () => {
    const name = nextName('2026-Q4-quiet');
    await campaignFailedWhileRevoking(name);
    const before = slack.messages(SECURITY_CHANNEL).length;
    const result = await notifyFailure(failedExecution(name), services({ config: TEST_CONFIG }), { table });
    expect(result).toMatchObject({ email: 'not_configured', slack: 'not_configured', campaignId: name });
    expect(slack.messages(SECURITY_CHANNEL).length).toBe(before);
  });

  it('refuses an event that is not an execution status change, naming the fields', async () => {
    await expect(
      notifyFailure({ detail: { executionArn: 'nope', status: 'FAILED' } }, services(), { table }),
    ).rejects.toThrowError(MalformedRequestError);
    await expect(
      notifyFailure({ detail: { executionArn: 'nope', status: 'FAILED' } }, services(), { table }),
    ).rejects.toThrowError(
      /detail\.executionArn: must be a Step Functions execution ARN; detail\.name: .*detail\.startDate/,
    );
  });
});

/** A loopback port nothing listens on: a connection to it is refused at once. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
