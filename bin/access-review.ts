#!/usr/bin/env node
// First: it prepares Node 20 for the embedded host before any AWS SDK module loads.
import '../lib/local/node20';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AccessReviewError, ConfigError } from '../functions/core/errors';
import { formatScope } from '../functions/core/scope';
import { exportEvidence } from '../functions/evidence/export';
import type { PinnedKey } from '../functions/evidence/signing/check';
import { dataDirPin, kmsPin } from '../functions/evidence/signing/pin';
import { type EvidenceCheck, verifyEvidence } from '../functions/evidence/verify';
import { checkCampaignRequest } from '../functions/steps/start-campaign';
import { reindexCampaign } from '../functions/store/history';
import { createStore } from '../functions/store/index';
import { runDelta } from '../lib/cli/delta';
import { runHistory } from '../lib/cli/history';
import { OUTPUT_FORMATS, type OutputFormat } from '../lib/cli/output';
import { DEFAULT_DATA_DIR, type TableOptions, withTable } from '../lib/cli/table-access';

const DEFAULT_SCENARIO = 'sandbox/scenarios/acme.yaml';

/** `--scope` may be given many times; each adds a term. */
function collectScope(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--scope` / `--reason`: what an ad-hoc campaign reviews and why (functions/core/scope.ts). */
function scopeOptions(command: Command, reasonHelp: string): Command {
  return command
    .option(
      '--scope <term>',
      'review only this slice (repeatable; a union): repo:ORG/NAME, team:ORG/SLUG, user:LOGIN, connector:github|aws, kind:GRANT_KIND',
      collectScope,
      [],
    )
    .option('--reason <text>', reasonHelp);
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return parsed;
}

/** `--table` / `--region` / `--data-dir`: the deployed table, or the embedded host's on disk. */
function tableOptions(command: Command): Command {
  return command
    .option(
      '--table <name>',
      "read the deployed DynamoDB table (the stack's TableName output) with your AWS credentials",
    )
    .option('--region <region>', "AWS region of --table (default: AWS_REGION or your profile's)")
    .option('--data-dir <dir>', 'without --table: where the local table is kept', DEFAULT_DATA_DIR);
}

function formatOption(): Option {
  return new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('table');
}

const note = (line: string) => console.error(line);

/** `--public-key` / `--key-fingerprint`: the signing key the auditor trusts, from outside the folder. */
function pinOptions(command: Command): Command {
  return command
    .option(
      '--public-key <file>',
      'PEM public key the chain must be signed with (e.g. from `aws kms get-public-key`), instead of trusting signing-key.pem',
    )
    .option('--key-fingerprint <hex>', 'SHA-256 of the signing key (DER SubjectPublicKeyInfo, 64 hex digits)')
    .option(
      '--allow-unsigned',
      'accept a chain with no signature as a campaign from before signing (a note, not a finding)',
    );
}

interface PinFlags {
  publicKey?: string;
  keyFingerprint?: string;
  allowUnsigned?: boolean;
}

async function pinOf(flags: PinFlags): Promise<PinnedKey | undefined> {
  if (!flags.publicKey && !flags.keyFingerprint) return undefined;
  return {
    ...(flags.publicKey ? { publicKeyPem: await readFile(flags.publicKey, 'utf8') } : {}),
    ...(flags.keyFingerprint ? { keySha256: flags.keyFingerprint } : {}),
  };
}

/** Verifies `dir` (pinned to the auditor's key when given) and prints it; true when it verified. */
async function checkFolder(dir: string, flags: PinFlags): Promise<boolean> {
  return checkPinned(dir, await pinOf(flags), flags.allowUnsigned === true);
}

async function checkPinned(dir: string, pin: PinnedKey | undefined, allowUnsigned = false): Promise<boolean> {
  const options = { ...(pin ? { pin } : {}), ...(allowUnsigned ? { allowUnsigned } : {}) };
  return reportCheck(dir, await verifyEvidence(dir, options), pin !== undefined);
}

/**
 * The key `evidence` pins, from the authority it has and the folder lacks (the table's
 * SIGNING_KEY# items are written by table writers, never the root): an explicit pin; the stack's
 * KMS key (`--signing-key-arn`, kms:GetPublicKey); on the local table, the data directory's own
 * key file. Undefined only with `--table` and no pin, or a data directory that never signed.
 */
async function evidencePin(
  options: TableOptions & PinFlags & { signingKeyArn?: string },
): Promise<PinnedKey | undefined> {
  const explicit = await pinOf(options);
  if (explicit) return explicit;
  if (options.signingKeyArn) {
    return kmsPin(options.signingKeyArn, options.region ? { region: options.region } : {});
  }
  if (options.table) {
    console.error(
      'warning: the signing key was NOT pinned: a table writer with their own key could have re-signed this chain; pass --signing-key-arn <stack output SigningKeyArn> (or --key-fingerprint / --public-key)',
    );
    return undefined;
  }
  const pin = await dataDirPin(resolve(options.dataDir));
  if (!pin) {
    console.error(
      `warning: the signing key was NOT pinned: ${options.dataDir} holds no signing-key.pem (the table was never signed here)`,
    );
  }
  return pin;
}

/** Prints what verifyEvidence found; true when the folder verified. */
function reportCheck(dir: string, result: EvidenceCheck, pinned: boolean): boolean {
  if (result.failure) {
    // A failed campaign's evidence can verify: it then says truthfully how far the campaign got.
    const { state, reviewer, error, classification, cause, at, seq } = result.failure;
    const where = reviewer ? `${state} (reviewer ${reviewer})` : state;
    console.log(
      `${dir}: the campaign FAILED in ${where} at ${at} (event ${seq}): ${error} (${classification})${cause ? `: ${cause}` : ''}`,
    );
  }
  for (const line of result.notes ?? []) console.log(`${dir}: note: ${line}`);
  if (result.ok) {
    console.log(
      `${dir}: verified (manifest hashes; event chain and its signatures, ${
        pinned ? 'by the pinned key' : 'by the key in signing-key.pem (fingerprint above)'
      }; completeness; snapshot digest; decisions, revocations, reviewers.csv, summary.json and report.html against the chain)${
        result.failure
          ? '; it records a failed campaign: revocations without an outcome were not carried out'
          : ''
      }`,
    );
    return true;
  }
  for (const finding of result.findings) console.error(`✗ ${finding}`);
  return false;
}

const program = new Command()
  .name('access-review')
  .description('Quarterly access review for the software delivery chain (SOC 2 CC6.2/CC6.3).');

scopeOptions(
  program
    .command('demo')
    .description('run a complete review campaign on the embedded host against a scenario'),
  'why this campaign runs (required with --scope; recorded in the evidence)',
)
  .option(
    '--scenario <file>',
    'scenario file (organisation, Slack users, reviewer behaviour)',
    DEFAULT_SCENARIO,
  )
  .option('--data-dir <dir>', 'where the local table is kept', DEFAULT_DATA_DIR)
  .option('--evidence-dir <dir>', 'evidence is written to <dir>/<campaign-id>/', 'evidence')
  .option(
    '--review-window <seconds>',
    "local stand-in for the review window (default: the scenario's localReviewWindowSeconds, else the embedded host's 20)",
    positiveInteger,
  )
  .action(
    async (options: {
      scenario: string;
      dataDir: string;
      evidenceDir: string;
      reviewWindow?: number;
      scope: string[];
      reason?: string;
    }) => {
      // A bad scope is told before the stack is synthesized and the sandboxes start.
      const request = checkCampaignRequest({ trigger: 'cli', scope: options.scope, reason: options.reason });
      // The embedded host (the stack synthesized, the sandboxes) loads only for the commands that
      // run it: the table pulls start in a fraction of the time.
      const [
        { loadScenarioFile },
        { startEmbeddedHost },
        { renderSummary },
        { DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS },
      ] = await Promise.all([
        import('../sandbox/scenario'),
        import('../lib/local/host'),
        import('../lib/local/report'),
        import('../lib/local/synthesized-workflow'),
      ]);
      const { scenario, config } = await loadScenarioFile(options.scenario);
      await mkdir(options.dataDir, { recursive: true });
      const started = Date.now();
      const log = (line: string) =>
        console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
      const host = await startEmbeddedHost({
        scenario,
        config,
        dataDir: resolve(options.dataDir),
        reviewWindowSeconds:
          options.reviewWindow ?? scenario.localReviewWindowSeconds ?? DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS,
        reviewerThinkMs: 150,
        onProgress: log,
      });
      try {
        for (const rewrite of host.rewrittenTimeouts) {
          log(
            `note: ${rewrite.state} waits ${rewrite.toSeconds}s here instead of ${rewrite.fromSeconds}s (${
              rewrite.fromSeconds / 3600
            }h on AWS)`,
          );
        }
        log(
          `GitHub sandbox ${host.github.url}, ${host.aws ? `AWS sandbox ${host.aws.url} (IAM, STS, Secrets Manager, KMS), ` : ''}Slack sandbox ${host.slack.apiUrl}, Slack app ${host.slackEndpoint}`,
        );
        const run = await host.runCampaign({
          trigger: 'cli',
          requestedBy: process.env.USER ?? 'local',
          ...(request.scope.terms.length > 0 ? { scope: formatScope(request.scope) } : {}),
          ...(request.reason ? { reason: request.reason } : {}),
        });
        const outDir = join(options.evidenceDir, run.campaignId);
        await exportEvidence(host.store, run.campaignId, outDir);
        console.log(`\n${await renderSummary(host.store, run.summary)}`);
        console.log(
          `\nEvidence: ${outDir}/ (rebuild with: npx access-review evidence --campaign ${run.campaignId} --out DIR)`,
        );
        // The security team's commands after the quarterly run (the scenario's after_campaign ones,
        // e.g. `/access-review start repo:acme/api -- …`): each campaign they start runs to the end.
        await host.reviewers.afterCampaign();
        for (const started of host.startedCampaigns()) {
          const adHoc = await started.run;
          const dir = join(options.evidenceDir, adHoc.campaignId);
          await exportEvidence(host.store, adHoc.campaignId, dir);
          console.log(`\n${await renderSummary(host.store, adHoc.summary)}`);
          console.log(`\nEvidence: ${dir}/`);
        }
      } finally {
        // The simulated people stop clicking before the app they click goes away.
        host.reviewers.stop();
        await host.close();
      }
    },
  );

tableOptions(
  pinOptions(
    program
      .command('evidence')
      .description('rebuild a campaign’s evidence folder from the table alone, then verify what was written')
      .requiredOption('--campaign <id>', 'campaign id')
      .requiredOption('--out <dir>', 'folder to write')
      .option(
        '--signing-key-arn <arn>',
        "with --table: pin the stack's signing key (output SigningKeyArn), read with kms:GetPublicKey",
      ),
  ),
).action(
  async (options: TableOptions & PinFlags & { campaign: string; out: string; signingKeyArn?: string }) => {
    // Before the export: a pin that cannot be had (KMS refused) stops here, not after the files.
    const pin = await evidencePin(options);
    const manifest = await withTable(options, async ({ table }) =>
      exportEvidence(createStore(table), options.campaign, options.out),
    );
    for (const file of manifest.files) console.log(`${file.sha256}  ${join(options.out, file.name)}`);
    console.log(`chain head ${manifest.chainHead} (${manifest.events} events)`);
    // What was exported is checked as an auditor would: a table someone rewrote exports fine but
    // does not verify, and the export must not be the one to call it verified.
    if (!(await checkPinned(options.out, pin, options.allowUnsigned === true))) process.exitCode = 1;
  },
);

pinOptions(
  program
    .command('verify-evidence')
    .description(
      'check an evidence folder: file hashes, the event chain and its signatures, completeness, and every file against the chain',
    )
    .argument('<dir>', 'evidence folder'),
).action(async (dir: string, options: PinFlags) => {
  if (!(await checkFolder(dir, options))) process.exitCode = 1;
});

scopeOptions(
  program
    .command('start')
    .description('start an ad-hoc campaign on the deployed stack (uses your AWS credentials)')
    .requiredOption('--state-machine-arn <arn>', 'the StateMachineArn output of the stack')
    .option(
      '--requested-by <name>',
      'who asked for this review (recorded in the evidence)',
      process.env.USER,
    ),
  'why this campaign runs (required; recorded in the evidence)',
).action(
  async (options: { stateMachineArn: string; requestedBy?: string; scope: string[]; reason?: string }) => {
    if (!options.requestedBy)
      throw new ConfigError('cannot start a campaign', ['--requested-by is required']);
    const { startCampaignOnAws } = await import('../lib/aws/start-campaign');
    const started = await startCampaignOnAws({
      stateMachineArn: options.stateMachineArn,
      requestedBy: options.requestedBy,
      scope: options.scope,
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
    });
    console.log(`started ${started.name}: ${started.executionArn}`);
    console.log(`scope: ${started.scope.length > 0 ? started.scope.join(', ') : 'everything'}`);
    console.log(`reason: ${started.reason}`);
  },
);

tableOptions(
  program
    .command('campaigns')
    .description('list the campaigns, newest first (one Query on the campaigns index)'),
).action(async (options: TableOptions) => {
  await withTable(options, async ({ table }) => {
    for (const campaign of await createStore(table).campaigns.list()) {
      console.log(
        `${campaign.campaignId}\t${campaign.status}\t${campaign.startedAt}\t${campaign.organization}`,
      );
    }
  });
});

tableOptions(
  program
    .command('history')
    .description(
      'every grant a principal held (or a resource had) in each campaign, with the decision, who decided and when, why, and the revocation and its verification',
    )
    .option(
      '--principal <name>',
      'a GitHub login, an IAM ARN…: grants it holds or benefits from (tokens it owns)',
    )
    .option('--resource <name>', 'a repository (acme/api), team, secret ARN…')
    .option('--connector <name>', 'only grants from this connector (github, aws)')
    .option('--since <date>', 'only campaigns snapshotted on or after this date (2026-01-01)')
    .option('--last <n>', 'only the n latest campaigns', positiveInteger)
    .addOption(formatOption()),
).action(
  async (
    options: TableOptions & {
      principal?: string;
      resource?: string;
      connector?: string;
      since?: string;
      last?: number;
      format: OutputFormat;
    },
  ) => {
    await withTable(options, ({ table }) => runHistory(table, options, process.stdout, note));
  },
);

tableOptions(
  program
    .command('delta')
    .description(
      'what changed between two campaigns: new, removed and changed grants, and decisions that flipped (default: the two latest completed)',
    )
    .option('--from <campaign>', 'the earlier campaign')
    .option('--to <campaign>', 'the later campaign')
    .option('--all', 'list unchanged grants too')
    .addOption(formatOption()),
).action(
  async (options: TableOptions & { from?: string; to?: string; all?: boolean; format: OutputFormat }) => {
    const counts = await withTable(options, ({ table }) =>
      runDelta(createStore(table), options, process.stdout, note),
    );
    if (counts.revokedThenPresent > 0) {
      note(
        `✗ ${counts.revokedThenPresent} grant(s) revoked in the earlier campaign are present again in the later one's snapshot`,
      );
    }
  },
);

tableOptions(
  program
    .command('reindex')
    .description(
      'give a campaign snapshotted before the history index its index keys (idempotent; needs dynamodb:UpdateItem)',
    )
    .option('--campaign <ids...>', 'the campaign(s) to backfill')
    .option('--all', 'every campaign not marked as indexed'),
).action(async (options: TableOptions & { campaign?: string[]; all?: boolean }) => {
  if (!options.campaign === !options.all) {
    throw new ConfigError('cannot reindex', ['give exactly one of --campaign ID… and --all']);
  }
  await withTable(options, async ({ table }) => {
    const ids =
      options.campaign ??
      (await createStore(table).campaigns.list())
        .filter((c) => c.historyIndex === undefined)
        .map((c) => c.campaignId);
    for (const id of ids) {
      const result = await reindexCampaign(table, id);
      console.log(
        `${id}: ${result.grants} grants; ${result.written} item(s) keyed now, ${result.alreadyIndexed} already keyed${
          result.withoutGrant > 0
            ? `, ${result.withoutGrant} decision(s)/outcome(s) without a grant left out`
            : ''
        }`,
      );
    }
    if (ids.length === 0) console.log('every campaign is already in the history index');
  });
});

program.parseAsync().catch((error: unknown) => {
  if (error instanceof AccessReviewError) {
    // Our own errors say what is wrong in words; a stack trace would only hide that.
    console.error(`${error.name}: ${error.message}`);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exitCode = 1;
});
