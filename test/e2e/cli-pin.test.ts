import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ephemeralLocalSigner, localSigner } from '../../functions/evidence/signing/local';
import { dataDirPin } from '../../functions/evidence/signing/pin';
import { keyFingerprint } from '../../functions/evidence/signing/signer';
import { finalizeCampaign } from '../../functions/steps/finalize';
import { createStore, type Store } from '../../functions/store/index';
import { type LocalDynamo, startLocalDynamo } from '../../lib/local/dynamo';
import { LOCAL_TABLE_NAME } from '../../lib/local/host';
import { type LocalTableSchema, synthesizeForLocalHost } from '../../lib/local/synthesized-workflow';
import { TABLE_SCHEMA_VARIABLE } from '../global-setup';
import { reviewedCampaign } from '../support/evidence-campaign';
import { TEST_CONFIG } from '../support/local-store';
import { signHead, tableTamper } from '../support/tamper';

/*
 * `access-review evidence` pins the key it has the authority for instead of the table's
 * SIGNING_KEY# item: on the local table, the data directory's own signing-key.pem. The table is
 * built with the store API in a data directory the CLI (a child process) then opens; a table
 * writer's edit re-signed with their own key is then a finding naming that key.
 */

const run = promisify(execFile);
const CAMPAIGN = 'pin-1';
let dir: string;
let dataDir: string;

const schema = (): LocalTableSchema => {
  const file = process.env[TABLE_SCHEMA_VARIABLE];
  return file
    ? (JSON.parse(readFileSync(file, 'utf8')) as LocalTableSchema)
    : synthesizeForLocalHost(TEST_CONFIG).table;
};

/** The data directory's table, open while `use` runs (dynalite holds a lock on it). */
async function withTable<T>(use: (store: Store, dynamo: LocalDynamo) => Promise<T>): Promise<T> {
  const dynamo = await startLocalDynamo({ tableName: LOCAL_TABLE_NAME, schema, dataDir });
  try {
    return await use(createStore(dynamo.table), dynamo);
  } finally {
    await dynamo.close();
  }
}

async function cli(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir }) {
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

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-pin-'));
  dataDir = join(dir, 'data');
  await withTable(async (store) => {
    const signer = await localSigner(dataDir);
    const { services } = await reviewedCampaign(store, CAMPAIGN, 12);
    // The earlier steps' signature, then Finalize's own.
    await signHead(store, CAMPAIGN, signer);
    await finalizeCampaign({ campaignId: CAMPAIGN }, { ...services, signer });
  });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('evidence pins the data directory key', () => {
  it('derives the pin from signing-key.pem without writing anything', async () => {
    const pin = await dataDirPin(dataDir);
    expect(pin?.keySha256).toBe(keyFingerprint(pin?.publicKeyPem ?? ''));
    expect(await dataDirPin(join(dir, 'no-such-dir'))).toBeUndefined();
  });

  it('the untouched table verifies by the pinned key, exit 0', async () => {
    const result = await cli([
      'evidence',
      '--campaign',
      CAMPAIGN,
      '--out',
      join(dir, 'ev-ok'),
      '--data-dir',
      dataDir,
    ]);
    expect(result.stderr).not.toContain('NOT pinned');
    expect(result.stdout).toContain('by the pinned key');
    expect(result.code).toBe(0);
  }, 120_000);

  it('with --table and no pin: exports and verifies, but says in a warning line that the key was not pinned', async () => {
    const result = await withTable((_store, dynamo) =>
      cli(
        [
          'evidence',
          '--campaign',
          CAMPAIGN,
          '--out',
          join(dir, 'ev-table'),
          '--table',
          LOCAL_TABLE_NAME,
          '--region',
          'eu-west-1',
        ],
        {
          PATH: process.env.PATH,
          HOME: dir,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'not-a-secret',
          AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      ),
    );
    expect(result.stderr).toContain('warning: the signing key was NOT pinned');
    expect(result.stdout).toContain('by the key in signing-key.pem');
    expect(result.code).toBe(0);
  }, 120_000);

  it("an edit re-signed with a table writer's own key is a finding naming that key, exit 1", async () => {
    const forger = ephemeralLocalSigner();
    const forgerSha = keyFingerprint(await forger.publicKeyPem());
    await withTable(async (store, dynamo) => {
      const decision = (await store.events.list(CAMPAIGN)).find(
        (event) => event.type === 'decision_recorded',
      );
      await tableTamper.editDecision(
        dynamo.table,
        CAMPAIGN,
        String(decision?.data.grantId),
        'approved by the CISO',
      );
      await tableTamper.deleteSignatures(dynamo.table, CAMPAIGN);
      await signHead(store, CAMPAIGN, forger);
    });
    const result = await cli([
      'evidence',
      '--campaign',
      CAMPAIGN,
      '--out',
      join(dir, 'ev-forged'),
      '--data-dir',
      dataDir,
    ]);
    expect(result.stdout).not.toContain('verified (');
    expect(result.stderr).toContain(forgerSha.slice(0, 12));
    expect(result.code).toBe(1);
  }, 120_000);
});
