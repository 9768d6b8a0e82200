import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS, type HandlerName, type SecretName } from '../../lib/aws/handlers';
import {
  concreteArns,
  functionLogicalId,
  type Json,
  kmsKeyIds,
  policiesOfRole,
  resourcesOfType,
  roleOfFunction,
  type SynthesizedStack,
  synthesizeStack,
  TEST_ACCOUNT,
  TEST_REGION,
} from './support';

// The synthesized policies, evaluated by an IAM policy simulator (same- and cross-account
// semantics matched AWS in the cases recorded in shared/NOTES.md) instead of by string matching.

let synth: SynthesizedStack;
let resolve: (value: Json) => Json;
let keyPolicy: Json;
let signingKeyPolicy: Json;
let evidenceBucketPolicy: Json;
let readerPolicy: Json;
let arns: {
  table: string;
  stateMachine: string;
  key: string;
  signingKey: string;
  bucket: string;
  secrets: Record<SecretName, string>;
};

beforeAll(() => {
  synth = synthesizeStack();
  resolve = concreteArns(synth.template);
  const only = (type: string) => Object.keys(resourcesOfType(synth.template, type))[0]!;
  const secretIds = Object.keys(resourcesOfType(synth.template, 'AWS::SecretsManager::Secret'));
  const keyId = kmsKeyIds(synth.template).encryption;
  const key = resourcesOfType(synth.template, 'AWS::KMS::Key')[keyId]!;
  keyPolicy = resolve(key.Properties!.KeyPolicy!);
  const signingKeyId = kmsKeyIds(synth.template).signing;
  signingKeyPolicy = resolve(
    resourcesOfType(synth.template, 'AWS::KMS::Key')[signingKeyId]!.Properties!.KeyPolicy!,
  );
  const bucketId = Object.entries(resourcesOfType(synth.template, 'AWS::S3::Bucket')).find(
    ([, bucket]) => bucket.Properties?.ObjectLockEnabled === true,
  )![0];
  const bucketPolicy = Object.values(resourcesOfType(synth.template, 'AWS::S3::BucketPolicy')).find(
    (policy) => JSON.stringify(policy.Properties?.Bucket) === JSON.stringify({ Ref: bucketId }),
  )!;
  evidenceBucketPolicy = resolve(bucketPolicy.Properties!.PolicyDocument!);
  readerPolicy = resolve(
    resourcesOfType(synth.template, 'AWS::IAM::ManagedPolicy')[only('AWS::IAM::ManagedPolicy')]!.Properties!
      .PolicyDocument!,
  );
  arns = {
    table: resolve({ 'Fn::GetAtt': [only('AWS::DynamoDB::Table'), 'Arn'] }) as string,
    stateMachine: resolve({ Ref: only('AWS::StepFunctions::StateMachine') }) as string,
    key: resolve({ 'Fn::GetAtt': [keyId, 'Arn'] }) as string,
    signingKey: resolve({ 'Fn::GetAtt': [signingKeyId, 'Arn'] }) as string,
    bucket: resolve({ 'Fn::GetAtt': [bucketId, 'Arn'] }) as string,
    secrets: {
      github: resolve({ Ref: secretIds.find((id) => id.includes('GitHub'))! }) as string,
      slack: resolve({ Ref: secretIds.find((id) => id.includes('Slack'))! }) as string,
    },
  };
  // A synth takes 3–8 s on an idle machine; the allowance is for a loaded one.
}, 180_000);
afterAll(() => synth?.dispose());

interface DecideOptions {
  contextVariables?: Record<string, string>;
  /** KMS never lets IAM alone grant use of a key: its key policy must delegate to the account. */
  resourcePolicy?: Json;
}

/**
 * AWS sets aws:PrincipalArn on every request (a role session's is its role's ARN); the simulator
 * takes it from the context only, and the signing key's and the bucket's Deny statements test it.
 */
function withPrincipalArn(principal: string, contextVariables: Record<string, string> = {}) {
  return { 'aws:PrincipalArn': principal, ...contextVariables };
}

function simulation(
  handler: HandlerName,
  action: string,
  resource: string,
  options: DecideOptions,
): Simulation {
  const roleId = roleOfFunction(synth.template, functionLogicalId(synth.template, handler));
  const principal = `arn:aws:iam::${TEST_ACCOUNT}:role/${roleId}`;
  return {
    identityPolicies: policiesOfRole(synth.template, roleId).map((policy, index) => ({
      name: `${roleId}-${index}`,
      policy: resolve(policy),
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
    request: {
      action,
      principal,
      resource: { accountId: TEST_ACCOUNT, resource },
      contextVariables: withPrincipalArn(principal, options.contextVariables),
    },
  };
}

async function decide(handler: HandlerName, action: string, resource: string, options: DecideOptions = {}) {
  const result = await runSimulation(simulation(handler, action, resource, options), {});
  if (result.resultType === 'error')
    throw new Error(`simulation of ${action} failed: ${result.errors.message}`);
  return result.overallResult;
}

/**
 * The Service Authorization Reference (the simulator's data) lists no resource type for
 * states:SendTask*, so the validating simulator refuses any ARN. Step Functions does authorize
 * them against the state machine that issued the token (CDK's grantTaskResponse relies on it,
 * aws/aws-cdk#8486 records the test), so these are evaluated without that validation.
 */
function decideTaskResponse(handler: HandlerName, action: string, resource: string) {
  return runUnsafeSimulation(simulation(handler, action, resource, {}), {});
}

const DYNAMODB_ACTIONS = [
  'GetItem',
  'PutItem',
  'UpdateItem',
  'Query',
  'BatchWriteItem',
  'DeleteItem',
  'Scan',
  'BatchGetItem',
  'ConditionCheckItem',
  'DeleteTable',
  'UpdateTable',
];

describe('IAM behaviour of the synthesized roles', () => {
  it('lets each function call exactly its DynamoDB actions on the table and its indexes', async () => {
    for (const spec of HANDLERS) {
      for (const action of DYNAMODB_ACTIONS) {
        const granted = (spec.tableActions as readonly string[]).includes(action);
        const expected = granted ? 'Allowed' : 'ImplicitlyDenied';
        expect(await decide(spec.name, `dynamodb:${action}`, arns.table), `${spec.name} ${action}`).toBe(
          expected,
        );
        if (action === 'Query') {
          expect(await decide(spec.name, 'dynamodb:Query', `${arns.table}/index/gsi1`), spec.name).toBe(
            expected,
          );
        }
      }
    }
  });

  it('the snapshot role may BatchWriteItem but may not DeleteItem', async () => {
    expect(await decide('snapshot', 'dynamodb:BatchWriteItem', arns.table)).toBe('Allowed');
    expect(await decide('snapshot', 'dynamodb:DeleteItem', arns.table)).toBe('ImplicitlyDenied');
  });

  it('reaches no other table', async () => {
    const other = `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/SomethingElse`;
    expect(await decide('snapshot', 'dynamodb:GetItem', other)).toBe('ImplicitlyDenied');
  });

  it('reads only the vendor secrets its catalogue entry lists', async () => {
    for (const spec of HANDLERS) {
      for (const secret of ['github', 'slack'] as const) {
        const expected = spec.secrets.includes(secret) ? 'Allowed' : 'ImplicitlyDenied';
        expect(
          await decide(spec.name, 'secretsmanager:GetSecretValue', arns.secrets[secret]),
          `${spec.name} ${secret}`,
        ).toBe(expected);
      }
    }
    expect(await decide('request-review', 'secretsmanager:GetSecretValue', arns.secrets.github)).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide('slack-events', 'secretsmanager:PutSecretValue', arns.secrets.slack)).toBe(
      'ImplicitlyDenied',
    );
  });

  it('uses the CMK only through DynamoDB or Secrets Manager, never directly', async () => {
    const resourcePolicy = keyPolicy;
    const via = (service: string) => ({
      resourcePolicy,
      contextVariables: { 'kms:ViaService': `${service}.${TEST_REGION}.amazonaws.com` },
    });
    expect(await decide('finalize', 'kms:Decrypt', arns.key, via('dynamodb'))).toBe('Allowed');
    expect(await decide('finalize', 'kms:GenerateDataKey', arns.key, via('dynamodb'))).toBe('Allowed');
    expect(await decide('finalize', 'kms:Decrypt', arns.key, { resourcePolicy })).toBe('ImplicitlyDenied');
    expect(await decide('finalize', 'kms:Decrypt', arns.key, via('secretsmanager'))).toBe('ImplicitlyDenied');
    expect(await decide('snapshot', 'kms:Decrypt', arns.key, via('secretsmanager'))).toBe('Allowed');
    expect(await decide('snapshot', 'kms:Encrypt', arns.key, via('secretsmanager'))).toBe('ImplicitlyDenied');
    expect(await decide('snapshot', 'kms:ScheduleKeyDeletion', arns.key, via('dynamodb'))).toBe(
      'ImplicitlyDenied',
    );
  });

  it('only slack-events completes review tasks, and only on this state machine', async () => {
    expect(decideTaskResponse('slack-events', 'states:SendTaskSuccess', arns.stateMachine)).toBe('Allowed');
    expect(decideTaskResponse('slack-events', 'states:SendTaskFailure', arns.stateMachine)).toBe(
      'ImplicitlyDenied',
    );
    expect(decideTaskResponse('slack-events', 'states:SendTaskHeartbeat', arns.stateMachine)).toBe(
      'ImplicitlyDenied',
    );
    const other = `arn:aws:states:${TEST_REGION}:${TEST_ACCOUNT}:stateMachine:Other`;
    expect(decideTaskResponse('slack-events', 'states:SendTaskSuccess', other)).toBe('ImplicitlyDenied');
    // `/access-review start` starts this state machine, and no other (StopExecution is never granted).
    expect(await decide('slack-events', 'states:StartExecution', arns.stateMachine)).toBe('Allowed');
    expect(await decide('slack-events', 'states:StartExecution', other)).toBe('ImplicitlyDenied');
    const execution = `arn:aws:states:${TEST_REGION}:${TEST_ACCOUNT}:execution:${arns.stateMachine.split(':').at(-1)}:run`;
    expect(await decide('slack-events', 'states:StopExecution', execution)).toBe('ImplicitlyDenied');
    for (const spec of HANDLERS.filter((candidate) => candidate.name !== 'slack-events')) {
      expect(decideTaskResponse(spec.name, 'states:SendTaskSuccess', arns.stateMachine), spec.name).toBe(
        'ImplicitlyDenied',
      );
      expect(decideTaskResponse(spec.name, 'states:SendTaskSuccess', '*'), spec.name).toBe(
        'ImplicitlyDenied',
      );
    }
  });
});

/** Someone who is not one of the stack's functions: a principal ARN and its identity policies. */
interface Outsider {
  principal: string;
  identityPolicies: Json[];
}

const ADMIN_ROLE = `arn:aws:iam::${TEST_ACCOUNT}:role/Administrator`;
/** An administrator as most accounts have one: everything, on everything. */
const administrator: Outsider = {
  principal: ADMIN_ROLE,
  identityPolicies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }],
};
/** An administrator of KMS and S3 only, the way a key custodian's role is often written. */
const kmsAndS3Administrator: Outsider = {
  principal: `arn:aws:iam::${TEST_ACCOUNT}:role/KeyCustodian`,
  identityPolicies: [
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:*', 's3:*'], Resource: '*' }] },
  ],
};
const accountRoot: Outsider = { principal: `arn:aws:iam::${TEST_ACCOUNT}:root`, identityPolicies: [] };
const auditor = (): Outsider => ({
  principal: `arn:aws:iam::${TEST_ACCOUNT}:role/Auditor`,
  identityPolicies: [readerPolicy],
});

async function decideAs(
  outsider: Outsider,
  action: string,
  resource: string,
  options: DecideOptions = {},
): Promise<string> {
  const result = await runSimulation(
    {
      identityPolicies: outsider.identityPolicies.map((policy, index) => ({
        name: `policy-${index}`,
        policy,
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
      request: {
        action,
        principal: outsider.principal,
        resource: { accountId: TEST_ACCOUNT, resource },
        contextVariables: withPrincipalArn(outsider.principal, options.contextVariables),
      },
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`simulation of ${action} failed: ${result.errors.message}`);
  return result.overallResult;
}

const overTls = { 'aws:SecureTransport': 'true' };

describe('the signing key: kms:Sign for the workflow functions and nobody else', () => {
  const onKey = () => ({ resourcePolicy: signingKeyPolicy });

  it('lets each signsChain function sign and read the public key; denies the others explicitly', async () => {
    expect(HANDLERS.filter((spec) => spec.signsChain).length).toBeGreaterThan(5);
    for (const spec of HANDLERS) {
      expect(await decide(spec.name, 'kms:Sign', arns.signingKey, onKey()), spec.name).toBe(
        spec.signsChain ? 'Allowed' : 'ExplicitlyDenied',
      );
      // The key policy leaves GetPublicKey to IAM (the public half is no secret): a role reads it
      // when its own policy says so, as the signers' and the reader's do.
      expect(await decide(spec.name, 'kms:GetPublicKey', arns.signingKey, onKey()), spec.name).toBe(
        spec.signsChain ? 'Allowed' : 'ImplicitlyDenied',
      );
    }
    expect(await decide('slack-events', 'kms:Sign', arns.signingKey, onKey())).toBe('ExplicitlyDenied');
    expect(await decide('notify-failure', 'kms:Sign', arns.signingKey, onKey())).toBe('ExplicitlyDenied');
  });

  it('gives the signers nothing else on the key: no decrypt, no policy change, no deletion', async () => {
    for (const action of ['kms:Decrypt', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:CreateGrant']) {
      expect(await decide('finalize', action, arns.signingKey, onKey()), action).toBe('ImplicitlyDenied');
    }
    // Nor does the signers' grant reach another key, even one whose policy delegates all to IAM
    // (the table's CMK keeps CDK's default `kms:*` for the account).
    expect(await decide('finalize', 'kms:Sign', arns.key, { resourcePolicy: keyPolicy })).toBe(
      'ImplicitlyDenied',
    );
  });

  it('denies Sign to the account root, an administrator with * or kms:*, and the evidence reader', async () => {
    for (const outsider of [accountRoot, administrator, kmsAndS3Administrator, auditor()]) {
      expect(await decideAs(outsider, 'kms:Sign', arns.signingKey, onKey()), outsider.principal).toBe(
        'ExplicitlyDenied',
      );
    }
  });

  it('still lets an administrator run the key (and read its public half), but not hand out Sign by a grant', async () => {
    for (const action of ['kms:DescribeKey', 'kms:PutKeyPolicy', 'kms:DisableKey', 'kms:GetPublicKey']) {
      expect(await decideAs(kmsAndS3Administrator, action, arns.signingKey, onKey()), action).toBe('Allowed');
    }
    expect(await decideAs(kmsAndS3Administrator, 'kms:CreateGrant', arns.signingKey, onKey())).toBe(
      'ImplicitlyDenied',
    );
    expect(await decideAs(auditor(), 'kms:GetPublicKey', arns.signingKey, onKey())).toBe('Allowed');
    expect(await decideAs(auditor(), 'kms:PutKeyPolicy', arns.signingKey, onKey())).toBe('ImplicitlyDenied');
  });
});

describe('the evidence bucket: only finalize writes, nobody deletes', () => {
  const object = (key: string) => `${arns.bucket}/${key}`;
  const onBucket = () => ({ resourcePolicy: evidenceBucketPolicy, contextVariables: overTls });

  it('lets finalize write, lock and read back packs under campaigns/, and nowhere else', async () => {
    const pack = object('campaigns/2026-Q4/manifest.json');
    for (const action of ['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject']) {
      expect(await decide('finalize', action, pack, onBucket()), action).toBe('Allowed');
    }
    expect(await decide('finalize', 's3:ListBucket', arns.bucket, onBucket())).toBe('Allowed');
    expect(await decide('finalize', 's3:PutObject', object('elsewhere/x'), onBucket())).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide('finalize', 's3:BypassGovernanceRetention', pack, onBucket())).toBe(
      'ImplicitlyDenied',
    );
  });

  it('denies every delete to finalize, to administrators and to the reader, whatever their own policies say', async () => {
    const pack = object('campaigns/2026-Q4/events.jsonl');
    for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion']) {
      expect(await decide('finalize', action, pack, onBucket()), action).toBe('ExplicitlyDenied');
      for (const outsider of [administrator, kmsAndS3Administrator, accountRoot, auditor()]) {
        expect(await decideAs(outsider, action, pack, onBucket()), `${outsider.principal} ${action}`).toBe(
          'ExplicitlyDenied',
        );
      }
    }
  });

  it('denies writes and retention changes to every principal but finalize, including other workflow functions', async () => {
    const pack = object('campaigns/2026-Q4/manifest.json');
    for (const action of ['s3:PutObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold']) {
      for (const outsider of [administrator, kmsAndS3Administrator, auditor()]) {
        expect(await decideAs(outsider, action, pack, onBucket()), `${outsider.principal} ${action}`).toBe(
          'ExplicitlyDenied',
        );
      }
      for (const spec of HANDLERS.filter((candidate) => !candidate.archivesEvidence)) {
        expect(await decide(spec.name, action, pack, onBucket()), `${spec.name} ${action}`).toBe(
          'ExplicitlyDenied',
        );
      }
    }
  });

  it('refuses plain HTTP even to finalize', async () => {
    const pack = object('campaigns/2026-Q4/manifest.json');
    expect(
      await decide('finalize', 's3:GetObject', pack, {
        resourcePolicy: evidenceBucketPolicy,
        contextVariables: { 'aws:SecureTransport': 'false' },
      }),
    ).toBe('ExplicitlyDenied');
  });
});

describe('the evidence reader policy', () => {
  it('reads the table and its indexes, and writes nothing', async () => {
    for (const action of ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DescribeTable']) {
      expect(await decideAs(auditor(), action, arns.table), action).toBe('Allowed');
    }
    expect(await decideAs(auditor(), 'dynamodb:Query', `${arns.table}/index/gsi1`)).toBe('Allowed');
    for (const action of [
      'PutItem',
      'UpdateItem',
      'DeleteItem',
      'BatchWriteItem',
      'DeleteTable',
      'UpdateTable',
    ]) {
      expect(await decideAs(auditor(), `dynamodb:${action}`, arns.table), action).toBe('ImplicitlyDenied');
    }
    const other = `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/SomethingElse`;
    expect(await decideAs(auditor(), 'dynamodb:Query', other)).toBe('ImplicitlyDenied');
  });

  it('decrypts with the table key only through DynamoDB', async () => {
    const via = (service: string) => ({
      resourcePolicy: keyPolicy,
      contextVariables: { 'kms:ViaService': `${service}.${TEST_REGION}.amazonaws.com` },
    });
    expect(await decideAs(auditor(), 'kms:Decrypt', arns.key, via('dynamodb'))).toBe('Allowed');
    expect(await decideAs(auditor(), 'kms:Decrypt', arns.key, via('secretsmanager'))).toBe(
      'ImplicitlyDenied',
    );
    expect(await decideAs(auditor(), 'kms:Decrypt', arns.key, { resourcePolicy: keyPolicy })).toBe(
      'ImplicitlyDenied',
    );
    expect(await decideAs(auditor(), 'kms:Encrypt', arns.key, via('dynamodb'))).toBe('ImplicitlyDenied');
  });

  it('reads and lists the evidence packs with their versions and locks', async () => {
    const onBucket = { resourcePolicy: evidenceBucketPolicy, contextVariables: overTls };
    const pack = `${arns.bucket}/campaigns/2026-Q4/manifest.json`;
    for (const action of ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectRetention']) {
      expect(await decideAs(auditor(), action, pack, onBucket), action).toBe('Allowed');
    }
    for (const action of ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketObjectLockConfiguration']) {
      expect(await decideAs(auditor(), action, arns.bucket, onBucket), action).toBe('Allowed');
    }
    for (const action of [
      's3:PutBucketPolicy',
      's3:PutBucketObjectLockConfiguration',
      's3:PutBucketVersioning',
    ]) {
      expect(await decideAs(auditor(), action, arns.bucket, onBucket), action).toBe('ImplicitlyDenied');
    }
  });
});
