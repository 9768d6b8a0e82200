import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { type AccessReviewConfig, parseConfig } from '../../functions/core/config';
import { cdkJsonContext, createInProcessApp } from '../../lib/aws/app';
import { loadConfigFile } from '../../lib/aws/config-file';
import type { AccessReviewMemberAccountRolesProps } from '../../lib/aws/member-account-roles';
import { AccessReviewMemberAccountStack, MEMBER_STACK_ID } from '../../lib/aws/member-account-stack';
import type { AccessReviewStack } from '../../lib/aws/stack';

export const exampleConfigPath = fileURLToPath(
  new URL('../../config/access-review.example.yaml', import.meta.url),
);

/** The documented example config: the tests build the stack from the file operators copy. */
export function exampleConfig(): AccessReviewConfig {
  return loadConfigFile(exampleConfigPath);
}

/** Member accounts of awsConfig(): production has both roles and an ExternalId; staging reads only. */
export const PRODUCTION_ACCOUNT = '444455556666';
export const STAGING_ACCOUNT = '777788889999';
export const PRODUCTION_EXTERNAL_ID = 'acme-access-review';
export const REMEDIATION_PATH = '/access-review-managed/';

/**
 * The example config with an `aws` section: two member accounts (one without a revoke role, one
 * role under an IAM path) and one automatic-remediation path. The hub is TEST_ACCOUNT.
 */
export function awsConfig(): AccessReviewConfig {
  const iam = (account: string, role: string) => `arn:aws:iam::${account}:role/${role}`;
  return parseConfig({
    ...(JSON.parse(JSON.stringify(exampleConfig())) as Record<string, unknown>),
    aws: {
      accounts: [
        {
          accountId: PRODUCTION_ACCOUNT,
          name: 'production',
          regions: ['eu-west-1'],
          readRoleArn: iam(PRODUCTION_ACCOUNT, 'access-review-read'),
          revokeRoleArn: iam(PRODUCTION_ACCOUNT, 'access-review-revoke'),
          externalId: PRODUCTION_EXTERNAL_ID,
        },
        {
          accountId: STAGING_ACCOUNT,
          name: 'staging',
          regions: ['eu-west-1', 'us-east-1'],
          readRoleArn: iam(STAGING_ACCOUNT, 'security/access-review-read'),
        },
      ],
      automaticRemediation: { identityPolicyPaths: [REMEDIATION_PATH] },
    },
  });
}

export interface SynthesizedStack {
  app: App;
  stack: AccessReviewStack;
  template: Template;
  config: AccessReviewConfig;
  dispose(): void;
}

/** One synth (bundling skipped, cdk.json's feature flags) into a temporary cloud assembly. */
export function synthesizeStack(config: AccessReviewConfig = exampleConfig()): SynthesizedStack {
  const outdir = mkdtempSync(join(tmpdir(), 'access-review-test-'));
  const { app, stack } = createInProcessApp({ config, outdir });
  const template = Template.fromStack(stack);
  return { app, stack, template, config, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, Json>; [key: string]: unknown }
>;

export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** Logical id of the Lambda function tagged with `access-review:handler` = name. */
export function functionLogicalId(template: Template, handler: string): string {
  const matches = Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')).filter(
    ([, resource]) =>
      (resource.Metadata as Record<string, unknown> | undefined)?.['access-review:handler'] === handler,
  );
  if (matches.length !== 1) throw new Error(`expected one function for ${handler}, found ${matches.length}`);
  return matches[0]![0];
}

/** Logical id of the role a function runs as (`Role: { Fn::GetAtt: [role, Arn] }`). */
export function roleOfFunction(template: Template, functionId: string): string {
  const fn = resourcesOfType(template, 'AWS::Lambda::Function')[functionId];
  const role = fn?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const roleId = role?.['Fn::GetAtt']?.[0];
  if (!roleId) throw new Error(`${functionId} has no role reference`);
  return roleId;
}

/** The policy documents attached to a role (AWS::IAM::Policy resources naming it, plus inline ones). */
export function policiesOfRole(template: Template, roleId: string): Json[] {
  const documents: Json[] = [];
  for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    const roles = (policy.Properties?.Roles ?? []) as Json[];
    if (roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }))) {
      documents.push(policy.Properties?.PolicyDocument ?? null);
    }
  }
  const role = resourcesOfType(template, 'AWS::IAM::Role')[roleId];
  for (const inline of (role?.Properties?.Policies ?? []) as Array<{ PolicyDocument: Json }>) {
    documents.push(inline.PolicyDocument);
  }
  return documents;
}

export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Json;
}

export function statementsOf(documents: Json[]): PolicyStatementJson[] {
  return documents.flatMap((document) => {
    const statements = (document as { Statement?: PolicyStatementJson | PolicyStatementJson[] } | null)
      ?.Statement;
    if (!statements) return [];
    return Array.isArray(statements) ? statements : [statements];
  });
}

export function actionsOf(statement: PolicyStatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export const TEST_ACCOUNT = '111122223333';
export const TEST_REGION = 'eu-west-1';

/** The name concreteArns gives a bucket (S3 names are lower case). */
export function bucketNameOf(logicalId: string): string {
  return logicalId.toLowerCase();
}

/**
 * The stack's two KMS keys: the symmetric CMK of the table, secrets and logs, and the ECC signing
 * key of the chain heads, told apart by what they are rather than by their logical ids.
 */
export function kmsKeyIds(template: Template): { encryption: string; signing: string } {
  const keys = Object.entries(resourcesOfType(template, 'AWS::KMS::Key'));
  const signing = keys.filter(([, key]) => key.Properties?.KeyUsage === 'SIGN_VERIFY');
  const encryption = keys.filter(([, key]) => key.Properties?.KeyUsage === undefined);
  if (signing.length !== 1 || encryption.length !== 1 || keys.length !== 2) {
    throw new Error(
      `expected one encryption key and one signing key, found ${keys.map(([id]) => id).join(', ')}`,
    );
  }
  return { encryption: encryption[0]![0], signing: signing[0]![0] };
}

/**
 * Resolves the intrinsics in IAM policies to concrete ARNs shaped like the real ones, so that
 * @cloud-copilot/iam-simulate can evaluate the synthesized policies as AWS would.
 */
export function concreteArns(template: Template): (value: Json) => Json {
  const resources = template.toJSON().Resources as Resources;
  const arnOf = (logicalId: string): string => {
    const type = resources[logicalId]?.Type;
    const prefix = `${TEST_REGION}:${TEST_ACCOUNT}`;
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${prefix}:table/${logicalId}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${prefix}:secret:${logicalId}-AbCdEf`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${prefix}:stateMachine:${logicalId}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${prefix}:key/${logicalId}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${prefix}:log-group:${logicalId}:*`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${prefix}:function:${logicalId}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${TEST_ACCOUNT}:role/${logicalId}`;
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${TEST_ACCOUNT}:policy/${logicalId}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${bucketNameOf(logicalId)}`;
      default:
        throw new Error(`no test ARN for ${logicalId} (${String(type)})`);
    }
  };
  const resolve = (value: Json): Json => {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(resolve);
    if ('Fn::GetAtt' in value) {
      const [logicalId, attribute] = value['Fn::GetAtt'] as [string, string];
      if (attribute !== 'Arn') throw new Error(`unexpected GetAtt ${logicalId}.${attribute}`);
      return arnOf(logicalId);
    }
    if ('Ref' in value) {
      const ref = value.Ref as string;
      if (ref === 'AWS::Region') return TEST_REGION;
      if (ref === 'AWS::AccountId') return TEST_ACCOUNT;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      // Ref of a bucket is its name; of a secret, a state machine or a managed policy, its ARN.
      if (resources[ref]?.Type === 'AWS::S3::Bucket') return bucketNameOf(ref);
      return arnOf(ref);
    }
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map((part) => String(resolve(part))).join(separator);
    }
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolve(inner)]));
  };
  return resolve;
}

export interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

/** Every cdk-nag acknowledgement recorded on `root` or under it. */
export function acknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({
          path: construct.node.path,
          id: key.replace(/^annotation::/i, ''),
          reason: String(reason),
        });
      }
    }
  }
  return found;
}

/** Every finding AwsSolutions would report under `root` if nothing were acknowledged, as `path id`. */
export function rawFindings(app: App, root: IConstruct): Set<string> {
  const pack = new AwsSolutionsChecks(app);
  // cdk-nag 3 has no public switch to ignore acknowledgements; replacing its private check on
  // this one instance is the only way to see what each acknowledgement actually hides.
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const findings = new Set<string>();
  for (const violation of pack.validateScope(root).violations) {
    for (const resource of violation.violatingResources)
      findings.add(`${resource.constructPath} ${violation.ruleName}`);
  }
  return findings;
}

/** Acknowledgements that hide no finding on or under their construct (they would outlive a fix). */
export function staleAcknowledgements(app: App, root: IConstruct): Acknowledgement[] {
  const findings = [...rawFindings(app, root)];
  return acknowledgements(root).filter(
    (acknowledgement) =>
      !findings.some(
        (finding) =>
          finding.startsWith(`${acknowledgement.path}/`) && finding.endsWith(` ${acknowledgement.id}`),
      ),
  );
}

export interface SynthesizedMemberStack {
  app: App;
  stack: AccessReviewMemberAccountStack;
  template: Template;
  dispose(): void;
}

/** The member-account stack for `account` with these roles, synthesized as `cdk synth` would (cdk.json's flags). */
export function synthesizeMemberStack(
  roles: AccessReviewMemberAccountRolesProps,
  account: string = PRODUCTION_ACCOUNT,
): SynthesizedMemberStack {
  const outdir = mkdtempSync(join(tmpdir(), 'access-review-member-test-'));
  const app = new App({ context: cdkJsonContext(), outdir });
  const stack = new AccessReviewMemberAccountStack(app, MEMBER_STACK_ID, { env: { account }, roles });
  const template = Template.fromStack(stack);
  return { app, stack, template, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}
