import {
  CreatePolicyVersionCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { PutResourcePolicyCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SandboxClients, sandboxClients } from '../../sandbox/aws/clients';
import {
  EXTERNAL_ID,
  exampleAwsScenario,
  MEMBER_ACCOUNT,
  PAYMENTS_KEY_ID,
  READ_ROLE_ARN,
  REGION,
  REVOKE_ROLE_ARN,
} from '../../sandbox/aws/example';
import { type AwsSandbox, startAwsSandbox } from '../../sandbox/aws/server';
import { secretArn } from '../../sandbox/aws/state';
import type { GitHubSandbox } from '../../sandbox/github/server';
import { type MessageEvent, type SlackSandbox, startSlackSandbox } from '../../sandbox/slack/server';
import { assumeExampleRole, closeChecked as closeCheckedAws, failure } from './aws/helpers';
import { acmeOrganization, closeChecked as closeCheckedGitHub, startSandbox, TOKEN } from './github/helpers';

/**
 * Prototype keys (`__proto__` anywhere, or `constructor` holding `prototype`; functions/core/records.ts)
 * in a request body are refused by each sandbox in its vendor's own error shape, and refused before
 * anything is written: the sandbox's state is the same afterwards. The bodies are raw JSON text,
 * because an object literal with `__proto__` would set a prototype instead of carrying the key.
 */

/**
 * A deep, plain copy of a sandbox's state (Maps and Sets as arrays, functions left out), so two
 * moments can be compared with toEqual.
 */
function plain(value: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'function') return '[function]';
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return '[seen]';
  seen.add(value);
  if (value instanceof Map) return [...value].map(([k, v]) => [plain(k, seen), plain(v, seen)]);
  if (value instanceof Set) return [...value].map((item) => plain(item, seen));
  if (Array.isArray(value)) return value.map((item) => plain(item, seen));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, seen)]));
}

/** Each kind of prototype key, where it can hide in a record. */
const PROTO_TOP = '"__proto__": {"polluted": "yes"}';
const CONSTRUCTOR_TOP = '"constructor": {"prototype": {"polluted": "yes"}}';

describe('Slack sandbox', () => {
  const TOKEN_SLACK = 'xoxb-proto-test';
  const ALICE = 'U0ALICE01';
  let slack: SlackSandbox;
  let events: MessageEvent[];
  let channel: string;
  let messageTs: string;

  beforeAll(async () => {
    slack = await startSlackSandbox({
      users: [{ id: ALICE, name: 'alice', email: 'alice@acme.example' }],
      botToken: TOKEN_SLACK,
    });
    const posted = await webApi('chat.postMessage', 'json', `{"channel": "${ALICE}", "text": "original"}`);
    expect(posted.body).toMatchObject({ ok: true });
    channel = String(posted.body.channel);
    messageTs = String(posted.body.ts);
    events = [];
    slack.onMessage((event) => {
      events.push(event);
    });
  });

  afterAll(async () => {
    await slack?.close();
  });

  beforeEach(() => {
    events.length = 0;
  });

  afterEach(() => {
    expect(slack.takeListenerErrors()).toEqual([]);
  });

  async function webApi(
    method: string,
    how: 'json' | 'form' | 'get',
    body: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN_SLACK}` };
    let response: Response;
    if (how === 'get') {
      response = await fetch(`${slack.apiUrl}${method}?${body}`, { headers });
    } else {
      headers['Content-Type'] =
        how === 'json' ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded';
      response = await fetch(`${slack.apiUrl}${method}`, { method: 'POST', headers, body });
    }
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** What the workspace holds and has logged; a refused request changes none of it. */
  const workspaceState = () => ({
    messages: slack.messages(),
    ephemerals: slack.ephemerals(),
    calls: slack.calls(),
  });

  describe('Web API: HTTP 200, ok: false, invalid_arguments; nothing logged, posted or announced', () => {
    const cases: Array<[string, 'json' | 'form' | 'get', string, string]> = [
      [
        'a JSON body with __proto__ at the top',
        'json',
        'chat.postMessage',
        `{"channel": "${ALICE}", "text": "hi", ${PROTO_TOP}}`,
      ],
      [
        'a JSON body with __proto__ inside a block',
        'json',
        'chat.postMessage',
        `{"channel": "${ALICE}", "text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, ${PROTO_TOP}}]}`,
      ],
      [
        'a JSON body with constructor.prototype',
        'json',
        'chat.postMessage',
        `{"channel": "${ALICE}", "text": "hi", ${CONSTRUCTOR_TOP}}`,
      ],
      [
        'a JSON body with constructor.prototype nested in a block element',
        'json',
        'chat.update',
        `{"channel": "CHANNEL", "ts": "TS", "text": "changed", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x", ${CONSTRUCTOR_TOP}}}]}`,
      ],
      [
        'a JSON body for chat.postEphemeral with __proto__',
        'json',
        'chat.postEphemeral',
        `{"channel": "${ALICE}", "user": "${ALICE}", "text": "psst", ${PROTO_TOP}}`,
      ],
      [
        'a form field named __proto__',
        'form',
        'chat.postMessage',
        `channel=${ALICE}&text=hi&__proto__=polluted`,
      ],
      [
        'a query parameter named __proto__',
        'get',
        'users.lookupByEmail',
        'email=alice%40acme.example&__proto__=x',
      ],
    ];

    it.each(cases)('%s', async (_what, how, method, template) => {
      const body = template.replace('CHANNEL', channel).replace('TS', messageTs);
      const before = workspaceState();
      const answer = await webApi(method, how, body);
      expect(answer).toEqual({ status: 200, body: { ok: false, error: 'invalid_arguments' } });
      expect(workspaceState()).toEqual(before);
      expect(slack.message(channel, messageTs)?.text).toBe('original');
      expect(events).toEqual([]);
    });

    it('the same requests without the prototype key are served (the refusal is about the key)', async () => {
      const answer = await webApi('users.lookupByEmail', 'get', 'email=alice%40acme.example');
      expect(answer.body).toMatchObject({ ok: true, user: { id: ALICE } });
    });
  });

  describe('Web API: a blocks string with a prototype key is invalid_blocks, naming the path', () => {
    const blocks = (extra: string) =>
      `[{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}, {"type": "section", "text": {"type": "mrkdwn", "text": "y"}, ${extra}}]`;

    const cases: Array<[string, 'json' | 'form', string, (blocksText: string) => string, string]> = [
      [
        'chat.postMessage, form-encoded, __proto__',
        'form',
        'chat.postMessage',
        (b) => new URLSearchParams({ channel: ALICE, text: 'hi', blocks: b }).toString(),
        PROTO_TOP,
      ],
      [
        'chat.postMessage, JSON with blocks as a string, constructor.prototype',
        'json',
        'chat.postMessage',
        (b) => JSON.stringify({ channel: ALICE, text: 'hi', blocks: b }),
        CONSTRUCTOR_TOP,
      ],
      [
        'chat.update, form-encoded, __proto__',
        'form',
        'chat.update',
        (b) => new URLSearchParams({ channel: 'CHANNEL', ts: 'TS', text: 'changed', blocks: b }).toString(),
        PROTO_TOP,
      ],
      [
        'chat.postEphemeral, form-encoded, __proto__',
        'form',
        'chat.postEphemeral',
        (b) => new URLSearchParams({ channel: ALICE, user: ALICE, text: 'psst', blocks: b }).toString(),
        PROTO_TOP,
      ],
    ];

    it.each(cases)('%s', async (_what, how, method, encode, extra) => {
      const path = extra === PROTO_TOP ? '[1].__proto__' : '[1].constructor.prototype';
      const body = encode(blocks(extra)).replace('CHANNEL', channel).replace('TS', messageTs);
      const before = workspaceState();
      const answer = await webApi(method, how, body);
      expect(answer).toEqual({
        status: 200,
        body: {
          ok: false,
          error: 'invalid_blocks',
          errors: [`${path}: not an accepted key`],
          response_metadata: { messages: [`[ERROR] ${path}: not an accepted key`] },
        },
      });
      // The call is logged as Slack's refusal; nothing else changed.
      const after = workspaceState();
      expect(after.messages).toEqual(before.messages);
      expect(after.ephemerals).toEqual(before.ephemerals);
      expect(after.calls.slice(0, before.calls.length)).toEqual(before.calls);
      expect(after.calls.slice(before.calls.length)).toMatchObject([
        { method, ok: false, error: 'invalid_blocks' },
      ]);
      expect(slack.message(channel, messageTs)?.text).toBe('original');
      expect(events).toEqual([]);
    });
  });

  describe('response_url: 400 invalid_arguments; the message is neither replaced nor deleted', () => {
    async function respond(body: string): Promise<{ status: number; body: unknown }> {
      const url = slack.responseUrlFor({ channel, messageTs, user: ALICE });
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      return { status: response.status, body: await response.json() };
    }

    const cases: Array<[string, string]> = [
      [
        '__proto__ at the top of a replacement',
        `{"replace_original": true, "text": "replaced", ${PROTO_TOP}}`,
      ],
      ['__proto__ at the top of a deletion', `{"delete_original": true, ${PROTO_TOP}}`],
      [
        'constructor.prototype at the top',
        `{"response_type": "in_channel", "text": "new", ${CONSTRUCTOR_TOP}}`,
      ],
      [
        '__proto__ inside a block',
        `{"replace_original": true, "text": "replaced", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, ${PROTO_TOP}}]}`,
      ],
      ['__proto__ in an ephemeral reply', `{"text": "only you", ${PROTO_TOP}}`],
    ];

    it.each(cases)('%s', async (_what, body) => {
      const before = workspaceState();
      expect(await respond(body)).toEqual({ status: 400, body: { ok: false, error: 'invalid_arguments' } });
      expect(workspaceState()).toEqual(before);
      expect(slack.message(channel, messageTs)?.text).toBe('original');
      expect(events).toEqual([]);
    });

    it('a blocks string with a prototype key is 400 invalid_blocks', async () => {
      const before = workspaceState();
      const blocks = `[{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, ${PROTO_TOP}}]`;
      expect(await respond(JSON.stringify({ replace_original: true, text: 'replaced', blocks }))).toEqual({
        status: 400,
        body: { ok: false, error: 'invalid_blocks' },
      });
      expect(workspaceState()).toEqual(before);
      expect(events).toEqual([]);
    });
  });
});

describe('GitHub sandbox: 400 with GitHub’s basic-error body; no route runs', () => {
  let github: GitHubSandbox;

  beforeAll(async () => {
    github = await startSandbox(await acmeOrganization());
  });

  afterAll(async () => {
    if (github) await closeCheckedGitHub(github);
  });

  async function call(method: string, path: string, body: string) {
    const response = await fetch(`${github.url}${path}`, {
      method,
      headers: {
        Authorization: `token ${TOKEN}`,
        Accept: 'application/vnd.github+json',
        'Content-Type': 'application/json',
      },
      body,
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: (await response.json()) as unknown,
    };
  }

  const cases: Array<[string, string, string, string, string]> = [
    [
      'a role change with __proto__ (bob would become an owner)',
      'PUT',
      '/orgs/acme/memberships/bob',
      `{"role": "admin", ${PROTO_TOP}}`,
      '"__proto__"',
    ],
    [
      'a team membership with constructor.prototype',
      'PUT',
      '/orgs/acme/teams/platform/memberships/erin',
      `{"role": "maintainer", ${CONSTRUCTOR_TOP}}`,
      '"constructor.prototype"',
    ],
    [
      'GraphQL variables with __proto__',
      'POST',
      '/graphql',
      `{"query": "query { viewer { login } }", "variables": {"org": "acme", ${PROTO_TOP}}}`,
      '"variables.__proto__"',
    ],
    [
      'two prototype keys, both named',
      'PUT',
      '/orgs/acme/memberships/carol',
      `{"role": "admin", "nested": [{${PROTO_TOP}}], ${CONSTRUCTOR_TOP}}`,
      '"nested[0].__proto__", "constructor.prototype"',
    ],
  ];

  it.each(cases)('%s', async (_what, method, path, body, named) => {
    const before = plain(github.state);
    const requestsBefore = github.requests.length;
    const answer = await call(method, path, body);
    expect(answer).toEqual({
      status: 400,
      contentType: 'application/json; charset=utf-8',
      body: {
        message: `Invalid request.\n\n${named} is not a permitted key.`,
        documentation_url: 'https://docs.github.com/rest',
        status: '400',
      },
    });
    expect(plain(github.state)).toEqual(before);
    expect(github.requests.slice(requestsBefore)).toMatchObject([
      { method, path, status: 400, injected: false },
    ]);
  });

  it('the same role change without the key is served (the refusal is about the key)', async () => {
    const answer = await call('PUT', '/orgs/acme/teams/platform/memberships/erin', '{"role": "maintainer"}');
    expect(answer.status).toBe(200);
  });
});

describe('AWS sandbox', () => {
  const STRIPE = secretArn(MEMBER_ACCOUNT, REGION, 'prod/payments/stripe');
  let aws: AwsSandbox;
  let revoke: SandboxClients;
  let session: { accessKeyId: string; secretAccessKey: string; sessionToken: string };

  beforeAll(async () => {
    const scenario = exampleAwsScenario();
    // The payments key also trusts the revoke role, so PutKeyPolicy reaches the document check.
    const key = scenario.accounts.find((a) => a.id === MEMBER_ACCOUNT)?.keys?.[0];
    if (!key?.policy) throw new Error('the example has no payments key policy');
    (key.policy as { Statement: unknown[] }).Statement.push({
      Effect: 'Allow',
      Principal: { AWS: REVOKE_ROLE_ARN },
      Action: 'kms:*',
      Resource: '*',
    });
    aws = await startAwsSandbox(scenario);
    session = await assumeExampleRole(aws, REVOKE_ROLE_ARN);
    revoke = sandboxClients(aws, { credentials: session, maxAttempts: 1 });
  });

  afterAll(async () => {
    if (aws) await closeCheckedAws(aws);
  });

  describe('JSON services: 400 SerializationException; no handler runs', () => {
    /** A JSON 1.1 request as any HTTP client would send it (the sandbox reads, not recomputes, SigV4). */
    async function jsonCall(service: 'secretsmanager' | 'kms', target: string, body: string) {
      const headers: Record<string, string> = {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': target,
        'X-Amz-Date': '20260101T000000Z',
        'X-Amz-Security-Token': session.sessionToken,
        Authorization: `AWS4-HMAC-SHA256 Credential=${session.accessKeyId}/20260101/${REGION}/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
      };
      const response = await fetch(aws.url, { method: 'POST', headers, body });
      return {
        status: response.status,
        contentType: response.headers.get('content-type'),
        body: JSON.parse(await response.text()) as unknown,
      };
    }

    // Root and the revoke role, as the scenario's key policy: the one accepted write keeps it usable.
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${MEMBER_ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        { Effect: 'Allow', Principal: { AWS: REVOKE_ROLE_ARN }, Action: 'kms:*', Resource: '*' },
      ],
    });

    const cases: Array<[string, 'secretsmanager' | 'kms', string, string, Record<string, string>]> = [
      [
        'Secrets Manager PutResourcePolicy with __proto__',
        'secretsmanager',
        'secretsmanager.PutResourcePolicy',
        `{"SecretId": "${STRIPE}", "ResourcePolicy": ${JSON.stringify(policy)}, ${PROTO_TOP}}`,
        { __type: 'SerializationException', Message: 'Unrecognized field __proto__.' },
      ],
      [
        'Secrets Manager ListSecrets with constructor.prototype in a filter',
        'secretsmanager',
        'secretsmanager.ListSecrets',
        `{"Filters": [{"Key": "name", "Values": ["prod"], ${CONSTRUCTOR_TOP}}]}`,
        { __type: 'SerializationException', Message: 'Unrecognized field Filters[0].constructor.prototype.' },
      ],
      [
        'KMS PutKeyPolicy with constructor.prototype',
        'kms',
        'TrentService.PutKeyPolicy',
        `{"KeyId": "${PAYMENTS_KEY_ID}", "PolicyName": "default", "Policy": ${JSON.stringify(policy)}, ${CONSTRUCTOR_TOP}}`,
        { __type: 'SerializationException', message: 'Unrecognized field constructor.prototype.' },
      ],
    ];

    it.each(cases)('%s', async (_what, service, target, body, expected) => {
      const before = plain(aws.state);
      const requestsBefore = aws.requests.length;
      expect(await jsonCall(service, target, body)).toEqual({
        status: 400,
        contentType: 'application/x-amz-json-1.1',
        body: expected,
      });
      expect(plain(aws.state)).toEqual(before);
      expect(aws.requests.slice(requestsBefore)).toMatchObject([
        {
          service,
          action: target.split('.')[1],
          status: 400,
          code: 'SerializationException',
          injected: false,
        },
      ]);
    });

    it('the same PutKeyPolicy without the key is served (the refusal is about the key)', async () => {
      const answer = await jsonCall(
        'kms',
        'TrentService.PutKeyPolicy',
        `{"KeyId": "${PAYMENTS_KEY_ID}", "PolicyName": "default", "Policy": ${JSON.stringify(policy)}}`,
      );
      expect(answer.status).toBe(200);
      expect(aws.state.key(PAYMENTS_KEY_ID)?.policy.text).toBe(policy);
    });
  });

  describe('policy documents: MalformedPolicyDocument, "Syntax errors in policy."; nothing stored', () => {
    /** A document the sandbox would accept, but for the prototype key `extra` adds to its statement. */
    const documentWith = (extra: string, principal?: string) =>
      `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", ${principal ? `"Principal": {"AWS": "${principal}"}, ` : ''}"Action": "sts:GetCallerIdentity", "Resource": "*", ${extra}}]}`;
    const topLevel = (extra: string) =>
      `{"Version": "2012-10-17", ${extra}, "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}`;
    const root = `arn:aws:iam::${MEMBER_ACCOUNT}:root`;

    const cases: Array<[string, () => Promise<unknown>, string, string, string]> = [
      [
        'IAM PutRolePolicy, __proto__ in a statement',
        () =>
          revoke.iam.send(
            new PutRolePolicyCommand({
              RoleName: 'deploy-api',
              PolicyName: 'Extra',
              PolicyDocument: documentWith(PROTO_TOP),
            }),
          ),
        'MalformedPolicyDocumentException',
        'MalformedPolicyDocument',
        'Syntax errors in policy.',
      ],
      [
        'IAM CreatePolicyVersion, constructor.prototype at the top',
        () =>
          revoke.iam.send(
            new CreatePolicyVersionCommand({
              PolicyArn: `arn:aws:iam::${MEMBER_ACCOUNT}:policy/access-review-managed/ReadPaymentsSecrets`,
              PolicyDocument: topLevel(CONSTRUCTOR_TOP),
              SetAsDefault: true,
            }),
          ),
        'MalformedPolicyDocumentException',
        'MalformedPolicyDocument',
        'Syntax errors in policy.',
      ],
      [
        'IAM UpdateAssumeRolePolicy, __proto__ in a statement',
        () =>
          revoke.iam.send(
            new UpdateAssumeRolePolicyCommand({
              RoleName: 'deploy-api',
              PolicyDocument: documentWith(PROTO_TOP, root).replace(
                'sts:GetCallerIdentity',
                'sts:AssumeRole',
              ),
            }),
          ),
        'MalformedPolicyDocumentException',
        'MalformedPolicyDocument',
        'Syntax errors in policy.',
      ],
      [
        'STS AssumeRole, a session policy with __proto__',
        () =>
          sandboxClients(aws).sts.send(
            new AssumeRoleCommand({
              RoleArn: READ_ROLE_ARN,
              RoleSessionName: 'proto',
              ExternalId: EXTERNAL_ID,
              Policy: documentWith(PROTO_TOP),
            }),
          ),
        'MalformedPolicyDocumentException',
        'MalformedPolicyDocument',
        'Syntax errors in policy.',
      ],
      [
        'Secrets Manager PutResourcePolicy, __proto__ in a statement',
        () =>
          revoke.secretsManager.send(
            new PutResourcePolicyCommand({ SecretId: STRIPE, ResourcePolicy: documentWith(PROTO_TOP, root) }),
          ),
        'MalformedPolicyDocumentException',
        'MalformedPolicyDocumentException',
        'This resource policy contains a syntax error. Syntax errors in policy.',
      ],
      [
        'KMS PutKeyPolicy, constructor.prototype in a statement',
        () =>
          revoke.kms.send(
            new PutKeyPolicyCommand({ KeyId: PAYMENTS_KEY_ID, Policy: documentWith(CONSTRUCTOR_TOP, root) }),
          ),
        'MalformedPolicyDocumentException',
        'MalformedPolicyDocumentException',
        'Syntax errors in policy.',
      ],
    ];

    it.each(cases)('%s', async (_what, send, name, code, message) => {
      const before = plain(aws.state);
      const requestsBefore = aws.requests.length;
      const error = await failure(send());
      expect(error).toMatchObject({ name, message, $metadata: { httpStatusCode: 400 } });
      // The wire code, as the sandbox answered it (IAM's and STS's query errors say MalformedPolicyDocument).
      expect(aws.requests.slice(requestsBefore)).toMatchObject([{ status: 400, code, injected: false }]);
      expect(plain(aws.state)).toEqual(before);
    });
  });
});
