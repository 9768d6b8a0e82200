import { execFile } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeGrant } from '../../functions/core/grant';
import { ephemeralLocalSigner } from '../../functions/evidence/signing/local';
import { finalizeCampaign } from '../../functions/steps/finalize';
import type { Store } from '../../functions/store/index';
import { keys } from '../../functions/store/table';
import type { LocalDynamo } from '../../lib/local/dynamo';
import { listenOnLoopback } from '../../sandbox/loopback';
import { reviewedCampaign } from '../support/evidence-campaign';
import { startTestStore } from '../support/local-store';
import { signHead } from '../support/tamper';

/**
 * The pulls from a deployed table as a security engineer runs them: the CLI in a child process,
 * `--table` and `--region`, the AWS SDK's own credential chain and endpoint resolution, pointed at
 * dynalite with AWS_ENDPOINT_URL_DYNAMODB and dummy keys (nothing leaves loopback). The table holds
 * two campaigns built through the steps, the second a quarter's rerun of the first.
 */
const run = promisify(execFile);
const TABLE = 'access-review-deployed';
const REGION = 'eu-west-1';
let dynamo: LocalDynamo;
let store: Store;
let dir: string;
let revokedInA: string[];
/** A grant of A revoked, removed and verified absent, its index in the snapshot's order. */
let target: { principal: string; index: number };
const FORMULA = '=HYPERLINK("http://evil.example","x")';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Only what the AWS SDK needs, so nothing of the machine's own AWS setup leaks in. */
function awsEnvironment(endpoint: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = awsEnvironment(dynamo.endpoint),
): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/access-review.js', ...args], {
      env,
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const onTable = ['--table', TABLE, '--region', REGION];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'access-review-cli-table-'));
  ({ dynamo, store } = await startTestStore(TABLE));
  const a = await reviewedCampaign(store, 'c-a', 40);
  // The workflow signs the head at each step; these campaigns are built without it, so the head is
  // signed here as the earlier steps would have (the signer refuses an unsigned chain past its
  // first event), then by Finalize.
  const signer = ephemeralLocalSigner();
  await signHead(store, 'c-a', signer);
  await finalizeCampaign({ campaignId: 'c-a' }, { ...a.services, signer });
  revokedInA = a.revoked;
  // The first removal is made to still show at the source; the last one is verified absent.
  const index = a.grants.findLastIndex((g) => a.revoked.includes(g.grantId) && !g.principal.endsWith('5'));
  target = { principal: a.grants[index]?.principal as string, index };
  const b = await reviewedCampaign(store, 'c-b', 40);
  // A grant whose principal a spreadsheet would run as a formula.
  await store.grants.putMany([
    {
      ...makeGrant({
        connector: 'github',
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: 'acme/team-0',
        principalType: 'user',
        principal: FORMULA,
        entitlement: 'member',
        via: { kind: 'direct' },
      }),
      campaignId: 'c-b',
      snapshotAt: new Date().toISOString(),
    },
  ]);
  await signHead(store, 'c-b', signer);
  await finalizeCampaign({ campaignId: 'c-b' }, { ...b.services, signer });
}, 120_000);

afterAll(async () => {
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pulls from the deployed table', () => {
  it('lists the campaigns from the campaigns index, newest first', async () => {
    const listed = await cli(['campaigns', ...onTable]);
    expect(listed.code).toBe(0);
    expect(
      listed.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t').slice(0, 2)),
    ).toEqual([
      ['c-b', 'completed'],
      ['c-a', 'completed'],
    ]);
  });

  it('exports a campaign and verifies what it wrote; a rewritten decision in the table fails the export', async () => {
    const out = join(dir, 'evidence-a');
    const exported = await cli(['evidence', '--campaign', 'c-a', '--out', out, ...onTable]);
    // --table without a pin: exported and verified, with a warning that the key was not pinned.
    expect(exported.stderr).toMatch(/^warning: the signing key was NOT pinned/);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/: verified \(/);
    expect(await readdir(out)).toEqual(
      expect.arrayContaining(['grants.csv', 'decisions.csv', 'manifest.json']),
    );

    // The auditor pins the key they trust (from KMS, not from the folder): the right one verifies,
    // another one does not.
    const pem = await readFile(join(out, 'signing-key.pem'), 'utf8');
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    const fingerprint = createHash('sha256').update(der).digest('hex');
    const [pinned, wrongPin] = await Promise.all([
      cli(['verify-evidence', out, '--key-fingerprint', fingerprint]),
      cli(['verify-evidence', out, '--key-fingerprint', '0'.repeat(64)]),
    ]);
    expect(pinned.stdout).toMatch(/: verified \(.*by the pinned key/);
    expect(pinned.code).toBe(0);
    expect(wrongPin.code).toBe(1);
    expect(wrongPin.stdout).not.toMatch(/: verified \(/);
    expect(wrongPin.stderr).toMatch(/✗ /);

    // Someone who can write the table turns a revoke into a keep after the fact.
    const setDecision = (value: string) =>
      dynamo.table.client.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { pk: keys.campaign('c-a'), sk: keys.decision(revokedInA[0] as string) },
          UpdateExpression: 'SET decision = :value',
          ExpressionAttributeValues: { ':value': value },
        }),
      );
    await setDecision('keep');
    try {
      const tampered = await cli([
        'evidence',
        '--campaign',
        'c-a',
        '--out',
        join(dir, 'evidence-a2'),
        ...onTable,
      ]);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).not.toMatch(/: verified \(/);
      expect(tampered.stderr).toMatch(/✗ .*decisions\.csv/);
    } finally {
      await setDecision('revoke');
    }
  });

  it('answers everything a principal held, across campaigns, with who vouched for it (after a reindex)', async () => {
    // The support campaign records decisions as a caller without the grant would: reindex keys them.
    const reindexed = await cli(['reindex', '--campaign', 'c-a', 'c-b', ...onTable]);
    expect(reindexed.code).toBe(0);
    expect(reindexed.stdout).toMatch(/c-a: 40 grants; \d+ item\(s\) keyed now/);
    const { principal, index } = target;
    const answer = await cli(['history', '--principal', principal, '--format', 'json', ...onTable]);
    expect(answer.code).toBe(0);
    const rows = JSON.parse(answer.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.campaign)).toEqual(['c-a', 'c-b']);
    // Revoked by its reviewer, removed and verified absent in A; in B's snapshot again, revoked again.
    expect(rows[0]).toMatchObject({
      principal,
      decision: 'revoke',
      decided_by: ['alice', 'bob', 'carol'][index % 3],
      revocation: 'removed',
      verification: 'absent',
      justification: index % 4 === 0 ? expect.stringMatching(/left the team/) : null,
    });
    expect(rows[1]).toMatchObject({ principal, decision: 'revoke', revocation: 'removed' });
    expect(answer.stderr).toContain(`2 grant(s) of principal ${principal} over 2 campaign(s); `);

    const last = await cli([
      'history',
      '--principal',
      principal,
      '--last',
      '1',
      '--format',
      'csv',
      ...onTable,
    ]);
    expect(last.stdout.trim().split('\n')).toHaveLength(2);
    expect(last.stdout).toMatch(/^campaign,snapshot_at,connector,/);
    expect(last.stdout.split('\n')[1]).toMatch(/^c-b,/);
  });

  it('answers a resource across campaigns, CSV cells a spreadsheet would run neutralised', async () => {
    const answer = await cli([
      'history',
      '--resource',
      'acme/team-0',
      '--since',
      '2020-01-01',
      '--format',
      'csv',
      ...onTable,
    ]);
    expect(answer.code).toBe(0);
    const lines = answer.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('c-a,')).length).toBeGreaterThan(3);
    expect(lines.filter((line) => line.startsWith('c-b,')).length).toBeGreaterThan(3);
    expect(answer.stdout).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(answer.stdout).not.toMatch(/,=HYPERLINK/);
  });

  it('compares the two latest completed campaigns and flags every revoked grant that is back', async () => {
    const delta = await cli(['delta', '--format', 'json', ...onTable]);
    expect(delta.code).toBe(0);
    const rows = JSON.parse(delta.stdout) as Array<Record<string, unknown>>;
    expect(delta.stderr).toMatch(/delta from c-a .* to c-b/);
    const back = rows.filter((r) => (r.findings as string[] | null)?.includes('revoked_then_present'));
    expect(back.map((r) => r.grant_id_from).sort()).toEqual([...revokedInA].sort());
    expect(rows.filter((r) => r.change === 'new').map((r) => r.principal)).toEqual([FORMULA]);
    expect(delta.stderr).toMatch(
      new RegExp(`✗ ${revokedInA.length} grant\\(s\\) revoked in the earlier campaign are present again`),
    );
  });
});

describe('reading the deployed table fails in words, never a stack trace', () => {
  let proxy: Server;
  let proxyUrl: string;

  beforeAll(async () => {
    // IAM in front of dynalite: this identity may Query the table but not the resource index.
    proxy = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        const target = String(incoming.headers['x-amz-target'] ?? '');
        const input = JSON.parse(body.toString('utf8') || '{}') as { IndexName?: string; TableName?: string };
        if (target.endsWith('.Query') && input.IndexName === 'gsi3') {
          outgoing.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
          outgoing.end(
            JSON.stringify({
              __type: 'com.amazon.coral.service#AccessDeniedException',
              Message: `User: arn:aws:iam::111122223333:user/auditor is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:${REGION}:111122223333:table/${input.TableName}/index/gsi3 because no identity-based policy allows the dynamodb:Query action`,
            }),
          );
          return;
        }
        const forwarded = request(
          dynamo.endpoint,
          { method: incoming.method, headers: incoming.headers },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
            answer.pipe(outgoing);
          },
        );
        forwarded.end(body);
      });
    });
    proxyUrl = await listenOnLoopback(proxy);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  });

  it('names the missing credentials, table, region and permission', async () => {
    const [noCredentials, noTable, noRegion, denied] = await Promise.all([
      cli(
        ['campaigns', ...onTable],
        awsEnvironment(dynamo.endpoint, { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }),
      ),
      cli(['campaigns', '--table', 'no-such-table', '--region', REGION]),
      cli(['campaigns', '--table', TABLE]),
      cli(['history', '--resource', 'acme/team-0', ...onTable], awsEnvironment(proxyUrl)),
    ]);
    for (const result of [noCredentials, noTable, noRegion, denied]) {
      expect(result.code).toBe(1);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(noCredentials.stderr).toMatch(
      /^TableAccessError: no AWS credentials to read table access-review-deployed/,
    );
    expect(noTable.stderr).toMatch(/^TableAccessError: table no-such-table in eu-west-1 does not exist/);
    expect(noRegion.stderr).toMatch(
      /^TableAccessError: no AWS region for table access-review-deployed: pass --region/,
    );
    expect(denied.stderr).toMatch(
      /^TableAccessError: access denied: your AWS identity may not call dynamodb:Query on arn:aws:dynamodb:eu-west-1:111122223333:table\/access-review-deployed\/index\/gsi3/,
    );
  });
});
