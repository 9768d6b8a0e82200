import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { AccessReviewConfig } from '../../functions/core/config';
import { createInProcessApp } from '../../lib/aws/app';
import { loadConfigFile } from '../../lib/aws/config-file';
import type { AccessReviewStack } from '../../lib/aws/stack';

export const exampleConfigPath = fileURLToPath(
  new URL('../../config/access-review.example.yaml', import.meta.url),
);

/** The documented example config: the tests build the stack from the file operators copy. */
export function exampleConfig(): AccessReviewConfig {
  return loadConfigFile(exampleConfigPath);
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
      // Ref of a secret or a state machine is its ARN.
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
