#!/usr/bin/env node
// First: it prepares Node 20 for the embedded host before any AWS SDK module loads.
import '../lib/local/node20';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { AccessReviewError, ConfigError } from '../functions/core/errors';
import { exportEvidence } from '../functions/evidence/export';
import { verifyEvidence } from '../functions/evidence/verify';
import { createStore } from '../functions/store/index';
import { loadConfigFile } from '../lib/aws/config-file';
import { startCampaignOnAws } from '../lib/aws/start-campaign';
import { startLocalDynamo } from '../lib/local/dynamo';
import { LOCAL_TABLE_NAME, startEmbeddedHost } from '../lib/local/host';
import { renderSummary } from '../lib/local/report';
import {
  DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS,
  synthesizeForLocalHost,
} from '../lib/local/synthesized-workflow';
import { loadScenarioFile } from '../sandbox/scenario';

const DEFAULT_DATA_DIR = '.access-review/data';
const DEFAULT_SCENARIO = 'sandbox/scenarios/acme.yaml';
/** Only the table's shape is taken from it, and that does not depend on the configuration. */
const EXAMPLE_CONFIG = 'config/access-review.example.yaml';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return parsed;
}

const program = new Command()
  .name('access-review')
  .description('Quarterly access review for the software delivery chain (SOC 2 CC6.2/CC6.3).');

program
  .command('demo')
  .description('run a complete review campaign on the embedded host against a scenario')
  .option(
    '--scenario <file>',
    'scenario file (organisation, Slack users, reviewer behaviour)',
    DEFAULT_SCENARIO,
  )
  .option('--data-dir <dir>', 'where the local table is kept', DEFAULT_DATA_DIR)
  .option('--evidence-dir <dir>', 'evidence is written to <dir>/<campaign-id>/', 'evidence')
  .option(
    '--review-window <seconds>',
    'local stand-in for the review window',
    positiveInteger,
    DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS,
  )
  .action(
    async (options: { scenario: string; dataDir: string; evidenceDir: string; reviewWindow: number }) => {
      const { scenario, config } = await loadScenarioFile(options.scenario);
      await mkdir(options.dataDir, { recursive: true });
      const started = Date.now();
      const log = (line: string) =>
        console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
      const host = await startEmbeddedHost({
        scenario,
        config,
        dataDir: resolve(options.dataDir),
        reviewWindowSeconds: options.reviewWindow,
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
        const run = await host.runCampaign({ trigger: 'cli', requestedBy: process.env.USER ?? 'local' });
        const outDir = join(options.evidenceDir, run.campaignId);
        await exportEvidence(host.store, run.campaignId, outDir);
        console.log(`\n${await renderSummary(host.store, run.summary)}`);
        console.log(
          `\nEvidence: ${outDir}/ (rebuild with: npx access-review evidence --campaign ${run.campaignId} --out DIR)`,
        );
      } finally {
        await host.close();
      }
    },
  );

program
  .command('evidence')
  .description('rebuild a campaign’s evidence folder from the table alone')
  .requiredOption('--campaign <id>', 'campaign id')
  .requiredOption('--out <dir>', 'folder to write')
  .option('--data-dir <dir>', 'where the local table is kept', DEFAULT_DATA_DIR)
  .action(async (options: { campaign: string; out: string; dataDir: string }) => {
    const dynamo = await openLocalTable(options.dataDir);
    try {
      const store = createStore(dynamo.table);
      const manifest = await exportEvidence(store, options.campaign, options.out);
      for (const file of manifest.files) console.log(`${file.sha256}  ${join(options.out, file.name)}`);
      console.log(`chain head ${manifest.chainHead} (${manifest.events} events)`);
    } finally {
      await dynamo.close();
    }
  });

program
  .command('verify-evidence')
  .description(
    'check an evidence folder: file hashes, the event chain, and grants against the snapshot digest',
  )
  .argument('<dir>', 'evidence folder')
  .action(async (dir: string) => {
    const result = await verifyEvidence(dir);
    if (result.failure) {
      // A failed campaign's evidence can verify: it then says truthfully how far the campaign got.
      const { state, reviewer, error, classification, cause, at, seq } = result.failure;
      const where = reviewer ? `${state} (reviewer ${reviewer})` : state;
      console.log(
        `${dir}: the campaign FAILED in ${where} at ${at} (event ${seq}): ${error} (${classification})${cause ? `: ${cause}` : ''}`,
      );
    }
    for (const note of result.notes ?? []) console.log(`${dir}: note: ${note}`);
    if (result.ok) {
      console.log(
        `${dir}: verified (manifest hashes, event chain, snapshot digest, decisions and revocations against the chain)${
          result.failure
            ? '; it records a failed campaign: revocations without an outcome were not carried out'
            : ''
        }`,
      );
    } else {
      for (const finding of result.findings) console.error(`✗ ${finding}`);
      process.exitCode = 1;
    }
  });

program
  .command('start')
  .description('start an ad-hoc campaign on the deployed stack (uses your AWS credentials)')
  .requiredOption('--state-machine-arn <arn>', 'the StateMachineArn output of the stack')
  .option('--requested-by <name>', 'who asked for this review (recorded in the evidence)', process.env.USER)
  .action(async (options: { stateMachineArn: string; requestedBy?: string }) => {
    if (!options.requestedBy)
      throw new ConfigError('cannot start a campaign', ['--requested-by is required']);
    const started = await startCampaignOnAws({
      stateMachineArn: options.stateMachineArn,
      requestedBy: options.requestedBy,
    });
    console.log(`started ${started.name}: ${started.executionArn}`);
  });

program
  .command('campaigns')
  .description('list campaigns in the local table')
  .option('--data-dir <dir>', 'where the local table is kept', DEFAULT_DATA_DIR)
  .action(async (options: { dataDir: string }) => {
    const dynamo = await openLocalTable(options.dataDir);
    try {
      for (const campaign of await createStore(dynamo.table).campaigns.list()) {
        console.log(
          `${campaign.campaignId}\t${campaign.status}\t${campaign.startedAt}\t${campaign.organization}`,
        );
      }
    } finally {
      await dynamo.close();
    }
  });

async function openLocalTable(dataDir: string) {
  await mkdir(dataDir, { recursive: true });
  // The table's shape comes from the synthesized stack, as in every other local command.
  return startLocalDynamo({
    tableName: LOCAL_TABLE_NAME,
    schema: () => synthesizeForLocalHost(loadConfigFile(EXAMPLE_CONFIG)).table,
    dataDir: resolve(dataDir),
  });
}

program.parseAsync().catch((error: unknown) => {
  if (error instanceof AccessReviewError) {
    // Our own errors say what is wrong in words; a stack trace would only hide that.
    console.error(`${error.name}: ${error.message}`);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exitCode = 1;
});
