import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FailureNotice,
  failureNoticeBlocks,
  failureNoticeText,
  redactSecrets,
} from '../../../functions/slack/failure-notice';
import { validateBlocks } from '../../../sandbox/slack/blockKit';

const alnum = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${min},${max}}$`));

/** Credentials of the shapes this tool handles, as they could end up in an error message. */
const credential = fc.oneof(
  alnum(20, 40).map((body) => `ghp_${body}`),
  alnum(22, 60).map((body) => `github_pat_${body}`),
  fc.tuple(fc.integer({ min: 1e9, max: 9e9 }), alnum(10, 30)).map(([id, body]) => `xoxb-${id}-${body}`),
  fc.stringMatching(/^[A-Z0-9]{16}$/).map((body) => `AKIA${body}`),
  fc.tuple(alnum(10, 40), alnum(10, 40), alnum(10, 40)).map(([a, b, c]) => `eyJ${a}.eyJ${b}.${c}`),
  alnum(40, 64).map((body) => `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`),
);

const words = fc.array(
  fc.constantFrom('GitHub', 'said', '401:', 'Bad', 'credentials', 'for', '(', ')', ':', '"'),
  {
    maxLength: 8,
  },
);

describe('redactSecrets', () => {
  it('removes any credential of a known shape, wherever it sits in the message', () => {
    fc.assert(
      fc.property(words, credential, words, (before, secret, after) => {
        const message = `${before.join(' ')} ${secret} ${after.join(' ')}`;
        const redacted = redactSecrets(message);
        expect(redacted).not.toContain(secret);
        expect(redacted).toContain('[redacted]');
      }),
    );
  });

  it('keeps secret-looking key=value pairs and URL credentials out, and plain words in', () => {
    expect(redactSecrets('password=hunter22 and "client_secret": "abc123"')).toBe(
      'password=[redacted] and "client_secret": "[redacted]"',
    );
    expect(redactSecrets('GET https://bot:s3cr3t@api.example.com/x')).toBe(
      'GET https://[redacted]@api.example.com/x',
    );
    expect(redactSecrets('Authorization: Bearer abc.def-123456')).toBe('Authorization: Bearer [redacted]');
    const plain =
      'GitHub DELETE /orgs/acme/members/mallory failed with 401: Bad credentials (token rejected)';
    expect(redactSecrets(plain)).toBe(plain);
  });
});

const notice = (overrides: Partial<FailureNotice> = {}): FailureNotice => ({
  campaignId: '2026-Q4-1a2b3c4d',
  organization: 'acme',
  campaignStatus: 'failed (was revoking)',
  executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:Review:run-1',
  executionName: 'run-1',
  executionStatus: 'FAILED',
  state: 'ApplyRevocations',
  classification: 'permission',
  error: 'PermissionError',
  message: 'GitHub needs members:write <admin> & more',
  pendingRevocations: 3,
  startedAt: '2026-10-01T07:00:00.000Z',
  stoppedAt: '2026-10-01T07:10:00.000Z',
  resume:
    'aws stepfunctions redrive-execution --execution-arn arn:aws:states:eu-west-1:111122223333:execution:Review:run-1',
  ...overrides,
});

describe('failure notice blocks', () => {
  it('are valid Block Kit whatever the lengths, and escape mrkdwn', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 5000 }),
        fc.string({ minLength: 1, maxLength: 300 }),
        fc.option(fc.nat(100000)),
        (message, state, pending) => {
          const blocks = failureNoticeBlocks(notice({ message, state, pendingRevocations: pending }));
          const result = validateBlocks(blocks);
          expect(result.ok ? [] : result.errors).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
    const blocks = JSON.stringify(failureNoticeBlocks(notice()));
    expect(blocks).toContain('members:write &lt;admin&gt; &amp; more');
  });

  it('say the same in the email text', () => {
    const text = failureNoticeText(notice());
    expect(text.split('\n').slice(0, 5)).toEqual([
      'Campaign 2026-Q4-1a2b3c4d failed in ApplyRevocations',
      '',
      'Why: permission (PermissionError): GitHub needs members:write <admin> & more',
      'Pending: 3 revocations are pending: decided, not yet carried out at the source.',
      `Resume: ${notice().resume}`,
    ]);
    expect(text).toContain('Campaign: 2026-Q4-1a2b3c4d (acme), status failed (was revoking)');
  });
});
