import {
  type AllowedConditionExpression,
  type DiscoveryContextKeyConstraint,
  getGrantReasons,
  type RequestAnalysis,
  type RequestGrant,
  runSimulation,
  type Simulation,
} from '@cloud-copilot/iam-simulate';
import { PolicyDocumentError } from './errors';
import type { IamPrincipal, IdentityPolicy, Inventory, KeyRecord, SecretRecord } from './inventory';
import {
  accountOfPrincipal,
  accountPrincipalArn,
  isAccountPrincipal,
  type PolicyDocument,
  type PolicyStatement,
  principalsOf,
  statementAllows,
  statementCoversAction,
  statementLabel,
  statementsOf,
  withStatements,
} from './policy-documents';

/**
 * Effective read access to secrets, decided by @cloud-copilot/iam-simulate over an Inventory: a
 * pure function of what was read (no I/O), so the AWS evaluation rules are tested on plain objects.
 *
 * Reading a secret takes two allowed requests: secretsmanager:GetSecretValue on the secret (the
 * principal's identity policies and permission boundary, and the secret's resource policy) and
 * kms:Decrypt on its key, which Secrets Manager makes on the caller's behalf (the key policy as
 * resource policy; context kms:ViaService, kms:CallerAccount and the encryption context's
 * SecretARN). Both run in iam-simulate's Discovery mode: the context keys this connector knows
 * (principal, account, tags, the secret, the KMS context) are declared authoritative, and a
 * condition on anything else (aws:SourceVpce, aws:PrincipalOrgID, MFA…) neither grants nor hides
 * access: the request is "allowed when …", and those conditions go into the grant.
 */

export const READ_ACTION = 'secretsmanager:GetSecretValue';
export const DECRYPT_ACTION = 'kms:Decrypt';
export const ASSUME_WEB_IDENTITY_ACTION = 'sts:AssumeRoleWithWebIdentity';
const TAG_SESSION_ACTION = 'sts:TagSession';

/** What evaluation cost: pairs looked at, pairs the prefilter let through, simulations run and their time. */
export interface EvaluationStats {
  pairs: number;
  simulatedPairs: number;
  simulations: number;
  simulationMs: number;
}

export function newStats(): EvaluationStats {
  return { pairs: 0, simulatedPairs: 0, simulations: 0, simulationMs: 0 };
}

/** The side of a read path a revoke acts on: the secret's resource policy, or one identity policy. */
export type ReadVia =
  | { kind: 'resource_policy' }
  | { kind: 'identity_policy'; policy: string; group?: string };

export interface ReadPath {
  via: ReadVia;
  /** Labels of the statements that allow GetSecretValue on this path. */
  statements: string[];
  /**
   * The resource-policy statements that allow the read name everyone (`*`), not this principal:
   * the aws_anyone grant stands for that access, so no per-principal grant is made for it.
   */
  anyPrincipalOnly?: boolean;
  /** How the resource policy names the principal on this path, when it does. */
  namedAs?: 'principal' | 'account';
  /** Conditions the path depends on that the connector cannot know ("aws:SourceVpce StringEquals vpce-1"). */
  conditions: string[];
}

export interface SecretAccess {
  paths: ReadPath[];
  /** Labels of the statements that allow kms:Decrypt on the secret's key. */
  kmsStatements: string[];
  kmsConditions: string[];
  crossAccount: boolean;
  /** The key policy could not be read: kms:Decrypt was not evaluated, and taken as allowed. */
  kmsUnknown?: true;
}

export type ExternalPrincipalType = 'aws_account' | 'iam_role' | 'iam_user' | 'aws_service' | 'aws_anyone';

/** A principal the secret's resource policy names that is in no reviewed account (or is everyone). */
export interface ExternalReader {
  principalType: ExternalPrincipalType;
  /** The root ARN of an account, a role or user ARN, a service (`lambda.amazonaws.com`), or `*`. */
  principal: string;
  statements: string[];
  kmsStatements: string[];
  conditions: string[];
  /** The principal (or, for `*`, someone it covers) is outside the secret's account. */
  crossAccount: boolean;
  /** For `*`: whether principals of other accounts can read too, or only the secret's own account. */
  reach?: 'any_account' | 'this_account';
  /**
   * Whether kms:Decrypt was evaluated: not for a service principal (whose KMS call AWS makes
   * itself), nor when the key policy could not be read (KeyRecord.policy null).
   */
  kmsEvaluated: boolean;
}

/** Where a resource-policy statement's principals leave a principal. */
type Naming = 'principal' | 'account' | 'anyone' | undefined;

/* Condition keys iam-simulate 0.1 does not know are renamed, in copies of the documents and in
 * the request, to keys it does know with the same (string) semantics: the KMS encryption context
 * (`kms:EncryptionContext:SecretARN` has no slash, so its variable-key matching misses it) and the
 * GitHub OIDC claims (`token.actions.githubusercontent.com:sub` is not in its catalogue). */
const ENCRYPTION_CONTEXT = /^kms:encryptioncontext:(.+)$/i;
const ENCRYPTION_CONTEXT_ALIAS = 'aws:RequestTag/kms-encryption-context-';
export const OIDC_SUB_ALIAS = 'aws:RequestTag/oidc-sub';
export const OIDC_AUD_ALIAS = 'aws:RequestTag/oidc-aud';

function renameConditionKeys(
  document: PolicyDocument,
  rename: (key: string) => string | undefined,
): PolicyDocument {
  let changed = false;
  const statements = statementsOf(document).map((statement) => {
    if (!statement.Condition) return statement;
    const condition: Record<string, Record<string, unknown>> = {};
    for (const [operator, entries] of Object.entries(statement.Condition)) {
      const renamed: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(entries ?? {})) {
        const alias = rename(key);
        if (alias) changed = true;
        renamed[alias ?? key] = value;
      }
      condition[operator] = renamed;
    }
    return { ...statement, Condition: condition };
  });
  return changed ? withStatements(document, statements) : document;
}

const SECRET_TAG = /^secretsmanager:resourcetag\/(.+)$/i;
const secretAliasCache = new WeakMap<PolicyDocument, PolicyDocument>();

/**
 * The document with secretsmanager:ResourceTag/<k> renamed to aws:ResourceTag/<k>: both are the
 * secret's tags, and iam-simulate's catalogue knows only the second as a variable key.
 */
export function withSecretTagAliases(document: PolicyDocument): PolicyDocument {
  let aliased = secretAliasCache.get(document);
  if (!aliased) {
    aliased = renameConditionKeys(document, (key) => {
      const match = SECRET_TAG.exec(key);
      return match ? `aws:ResourceTag/${match[1]}` : undefined;
    });
    secretAliasCache.set(document, aliased);
  }
  return aliased;
}

const kmsAliasCache = new WeakMap<PolicyDocument, PolicyDocument>();

/** The document with kms:EncryptionContext:<k> conditions renamed so iam-simulate evaluates them. */
export function withKmsContextAliases(document: PolicyDocument): PolicyDocument {
  let aliased = kmsAliasCache.get(document);
  if (!aliased) {
    aliased = renameConditionKeys(document, (key) => {
      const match = ENCRYPTION_CONTEXT.exec(key);
      return match ? `${ENCRYPTION_CONTEXT_ALIAS}${match[1]}` : undefined;
    });
    kmsAliasCache.set(document, aliased);
  }
  return aliased;
}

/** The trust document with `<provider>:sub` and `<provider>:aud` renamed so iam-simulate evaluates them. */
export function withOidcAliases(document: PolicyDocument, provider: string): PolicyDocument {
  const sub = `${provider}:sub`.toLowerCase();
  const aud = `${provider}:aud`.toLowerCase();
  return renameConditionKeys(document, (key) =>
    key.toLowerCase() === sub ? OIDC_SUB_ALIAS : key.toLowerCase() === aud ? OIDC_AUD_ALIAS : undefined,
  );
}

/** Keys whose presence and value the connector knows; anything else is left to Discovery mode. */
const KNOWN_KEYS: DiscoveryContextKeyConstraint[] = [
  'aws:PrincipalArn',
  'aws:PrincipalAccount',
  'aws:PrincipalType',
  'aws:username',
  'aws:SecureTransport',
  'aws:PrincipalIsAWSService',
  'secretsmanager:SecretId',
  'kms:ViaService',
  'kms:CallerAccount',
  `${ENCRYPTION_CONTEXT_ALIAS}SecretARN`,
  '/^aws:ResourceTag/.*/',
].map((keyName) => ({ keyName, presenceIsKnown: true, valueIsKnown: true }));

/** Principal tags are known only for principals in reviewed accounts, and not for roles whose sessions may be tagged. */
const KNOWN_PRINCIPAL_TAGS: DiscoveryContextKeyConstraint = {
  keyName: '/^aws:PrincipalTag/.*/',
  presenceIsKnown: true,
  valueIsKnown: true,
};

/** Runs simulations, counts them, and turns a rejected input into a PolicyDocumentError. */
export class Simulator {
  constructor(readonly stats: EvaluationStats = newStats()) {}

  async run(
    simulation: Simulation,
    known: DiscoveryContextKeyConstraint[],
    what: string,
  ): Promise<{ allowed: boolean; analysis: RequestAnalysis }> {
    const started = performance.now();
    let result: Awaited<ReturnType<typeof runSimulation>>;
    try {
      result = await runSimulation(simulation, {
        simulationMode: 'Discovery',
        discoveryContextKeyConstraints: known,
      });
    } catch (error) {
      // iam-simulate throws (rather than answers) for some inputs, e.g. a context key it does not know.
      throw new PolicyDocumentError(
        `cannot evaluate ${what}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    this.stats.simulations++;
    this.stats.simulationMs += performance.now() - started;
    if (result.resultType === 'error') {
      throw new PolicyDocumentError(`cannot evaluate ${what}: ${JSON.stringify(result.errors)}`);
    }
    const single = result.resultType === 'single' ? result.result : result.results[0];
    if (!single) {
      throw new PolicyDocumentError(`cannot evaluate ${what}: the simulator returned no result`);
    }
    return { allowed: result.overallResult === 'Allowed', analysis: single.analysis };
  }
}

/** Every condition an allowed Discovery result depends on, in words; [] when it holds always. */
export function describeConditions(expression: AllowedConditionExpression | undefined): string[] {
  if (!expression) return [];
  switch (expression.conditionType) {
    case 'always':
      return [];
    case 'never':
      return ['never'];
    case 'condition': {
      const text = `${expression.key} ${expression.op} ${expression.values.join(', ')}`;
      return [expression.inverted ? `not (${text})` : text];
    }
    case 'sessionName':
      return [`role session name is ${expression.sessionName.join(' or ')}`];
    case 'group': {
      const parts = expression.conditions.flatMap((item) => {
        const inner = describeConditions(item);
        return inner.length > 1 ? [`(${inner.join(' and ')})`] : inner;
      });
      return expression.operator === 'and' ? parts : parts.length > 1 ? [parts.join(' or ')] : parts;
    }
  }
}

function denyOnly(document: PolicyDocument): PolicyDocument {
  return withStatements(
    document,
    statementsOf(document).filter((statement) => statement.Effect === 'Deny'),
  );
}

function hasDeny(document: PolicyDocument): boolean {
  return statementsOf(document).some((statement) => statement.Effect === 'Deny');
}

/** Whether any Allow statement of the principal's identity policies could cover `action` on `arn`. */
export function identityMayAllow(principal: IamPrincipal, action: string, arn: string): boolean {
  return principal.identityPolicies.some((policy) =>
    statementsOf(policy.document).some((statement) => statementAllows(statement, action, arn)),
  );
}

/** Role ARN → the session ARN prefix a resource policy may name instead (`arn:aws:sts::1:assumed-role/name/`). */
function sessionPrefix(
  principal: Pick<IamPrincipal, 'arn' | 'type' | 'accountId' | 'name'>,
): string | undefined {
  if (principal.type !== 'iam_role') return undefined;
  const partition = principal.arn.split(':')[1] ?? 'aws';
  return `arn:${partition}:sts::${principal.accountId}:assumed-role/${principal.name}/`;
}

/** How one statement's principals name `principal`: itself, its whole account, everyone, or not at all. */
export function statementNames(
  statement: PolicyStatement,
  principal: Pick<IamPrincipal, 'arn' | 'type' | 'accountId' | 'name'>,
): Naming {
  if (statement.NotPrincipal !== undefined) return 'anyone';
  const named = principalsOf(statement.Principal);
  const session = sessionPrefix(principal);
  if (
    named.aws.some((value) => value === principal.arn || (session !== undefined && value.startsWith(session)))
  ) {
    return 'principal';
  }
  if (
    named.aws.some((value) => isAccountPrincipal(value) && accountOfPrincipal(value) === principal.accountId)
  ) {
    return 'account';
  }
  return named.anyone ? 'anyone' : undefined;
}

/** The strongest way the secret's resource policy names the principal in an Allow for reading. */
function resourcePolicyNames(secret: SecretRecord, principal: IamPrincipal): Naming {
  let best: Naming;
  for (const statement of statementsOf(secret.resourcePolicy)) {
    if (!statementAllows(statement, READ_ACTION, secret.arn)) continue;
    const naming = statementNames(statement, principal);
    if (naming === 'principal') return naming;
    if (naming === 'anyone' || (naming === 'account' && best === undefined)) best = naming;
  }
  return best;
}

function secretContext(secret: SecretRecord): Record<string, string> {
  const context: Record<string, string> = {
    'secretsmanager:SecretId': secret.arn,
    'aws:SecureTransport': 'true',
  };
  for (const [key, value] of Object.entries(secret.tags)) context[`aws:ResourceTag/${key}`] = value;
  return context;
}

/**
 * Whether the role's sessions may carry session tags: its trust policy allows sts:TagSession to
 * someone. A session tag overrides the role's tag of the same key and adds any other, so its
 * aws:PrincipalTag values are whatever the one assuming it passes.
 */
export function mayCarrySessionTags(principal: Pick<IamPrincipal, 'type' | 'trustPolicy'>): boolean {
  return (
    principal.type === 'iam_role' &&
    statementsOf(principal.trustPolicy).some(
      (statement) => statement.Effect === 'Allow' && statementCoversAction(statement, TAG_SESSION_ACTION),
    )
  );
}

/**
 * The principal's request context. Its tags are known (its IAM tags) unless its sessions may carry
 * session tags: then aws:PrincipalTag/* is left out and not declared known, so a condition on it
 * makes the read "allowed when …" with the condition listed, rather than decided by the IAM tags.
 */
function principalContext(principal: IamPrincipal): Record<string, string> {
  const context: Record<string, string> = {
    'aws:PrincipalArn': principal.arn,
    'aws:PrincipalAccount': principal.accountId,
    'aws:PrincipalType': principal.type === 'iam_user' ? 'User' : 'AssumedRole',
    'aws:PrincipalIsAWSService': 'false',
  };
  if (principal.type === 'iam_user') context['aws:username'] = principal.name;
  if (!mayCarrySessionTags(principal)) {
    for (const [key, value] of Object.entries(principal.tags)) context[`aws:PrincipalTag/${key}`] = value;
  }
  return context;
}

function kmsContext(secret: SecretRecord, callerAccount: string): Record<string, string> {
  return {
    'kms:ViaService': `secretsmanager.${secret.region}.amazonaws.com`,
    'kms:CallerAccount': callerAccount,
    [`${ENCRYPTION_CONTEXT_ALIAS}SecretARN`]: secret.arn,
    'aws:SecureTransport': 'true',
  };
}

/** Each identity policy under a unique simulation name (a managed policy may reach a user twice). */
function simulationNames(policies: readonly IdentityPolicy[]): Map<string, IdentityPolicy> {
  return new Map(policies.map((policy, index) => [`p${index}`, policy]));
}

function policyWhere(policy: IdentityPolicy): string {
  return policy.group ? `${policy.id} (group ${policy.group})` : policy.id;
}

export function resourcePolicyWhere(secret: Pick<SecretRecord, 'name'>): string {
  return `the resource policy of ${secret.name}`;
}

export function keyPolicyWhere(key: Pick<KeyRecord, 'arn'>): string {
  return `the key policy of ${key.arn}`;
}

/** Labels for the allow reasons of one simulation. */
function labelsOf(
  grants: RequestGrant[],
  names: Map<string, IdentityPolicy>,
  resource: { document: PolicyDocument | null; where: string },
  include: 'identity' | 'resource' | 'both',
): string[] {
  const labels: string[] = [];
  for (const grant of grants) {
    if (grant.policyType === 'identity' && include !== 'resource') {
      const policy = names.get(grant.policyIdentifier);
      if (!policy) continue;
      const statement = statementsOf(policy.document)[grant.statementIndex - 1] ?? {};
      labels.push(statementLabel(statement, grant.statementIndex, policyWhere(policy)));
    } else if (grant.policyType === 'resource' && include !== 'identity') {
      const statement = statementsOf(resource.document)[grant.statementIndex - 1] ?? {};
      labels.push(statementLabel(statement, grant.statementIndex, resource.where));
    }
  }
  return [...new Set(labels)];
}

function keyOf(inventory: Inventory, secret: SecretRecord): KeyRecord {
  const key = inventory.keys.get(secret.keyArn);
  if (!key)
    throw new PolicyDocumentError(`the key policy of ${secret.keyArn} (key of ${secret.arn}) was not read`);
  return key;
}

interface SimulationInput {
  identity: IdentityPolicy[];
  /** Identity policies whose Deny statements still apply (the rest of the principal's policies). */
  denyFrom: IdentityPolicy[];
  resourcePolicy: PolicyDocument | null;
}

/**
 * Whether `principal` can read `secret`, and by which paths. Undefined when it cannot.
 *
 * Same account: the resource policy and each identity policy are tested alone (every other
 * policy's Deny statements still applying), and each one that suffices alone is a path. Across
 * accounts AWS needs both sides, so there is one path, via the resource policy (the side the
 * secret's account controls), whose statements list both sides.
 */
export async function evaluateSecretRead(
  inventory: Inventory,
  principal: IamPrincipal,
  secret: SecretRecord,
  simulator: Simulator,
): Promise<SecretAccess | undefined> {
  simulator.stats.pairs++;
  const crossAccount = principal.accountId !== secret.accountId;
  const naming = resourcePolicyNames(secret, principal);
  const identityMay = identityMayAllow(principal, READ_ACTION, secret.arn);
  // Cheap prefilter: no simulation for a principal that obviously cannot read.
  const candidate = crossAccount
    ? identityMay && naming !== undefined
    : identityMay || naming === 'principal' || naming === 'anyone';
  if (!candidate) return undefined;
  simulator.stats.simulatedPairs++;

  const key = keyOf(inventory, secret);
  const known = mayCarrySessionTags(principal) ? KNOWN_KEYS : [...KNOWN_KEYS, KNOWN_PRINCIPAL_TAGS];
  const names = simulationNames(principal.identityPolicies);
  const resourceWhere = resourcePolicyWhere(secret);
  const readSimulation = (input: SimulationInput): Simulation => {
    const chosen = new Set(input.identity);
    return {
      identityPolicies: [...names.entries()].flatMap(([name, policy]) =>
        chosen.has(policy)
          ? [{ name, policy: withSecretTagAliases(policy.document) }]
          : input.denyFrom.includes(policy) && hasDeny(policy.document)
            ? [{ name, policy: withSecretTagAliases(denyOnly(policy.document)) }]
            : [],
      ),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(input.resourcePolicy ? { resourcePolicy: withSecretTagAliases(input.resourcePolicy) } : {}),
      ...(principal.permissionBoundary
        ? {
            permissionBoundaryPolicies: [
              {
                name: principal.permissionBoundary.arn,
                policy: withSecretTagAliases(principal.permissionBoundary.document),
              },
            ],
          }
        : {}),
      request: {
        action: READ_ACTION,
        principal: principal.arn,
        resource: { accountId: secret.accountId, resource: secret.arn },
        contextVariables: { ...secretContext(secret), ...principalContext(principal) },
      },
    };
  };
  const what = `${READ_ACTION} by ${principal.arn} on ${secret.arn}`;
  const full = await simulator.run(
    readSimulation({
      identity: principal.identityPolicies,
      denyFrom: [],
      resourcePolicy: secret.resourcePolicy,
    }),
    known,
    what,
  );
  if (!full.allowed) return undefined;

  const keyPolicy = key.policy;
  const decrypt = keyPolicy
    ? await simulator.run(
        {
          identityPolicies: [...names.entries()].map(([name, policy]) => ({
            name,
            policy: withKmsContextAliases(policy.document),
          })),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy: withKmsContextAliases(keyPolicy),
          ...(principal.permissionBoundary
            ? {
                permissionBoundaryPolicies: [
                  {
                    name: principal.permissionBoundary.arn,
                    policy: withKmsContextAliases(principal.permissionBoundary.document),
                  },
                ],
              }
            : {}),
          request: {
            action: DECRYPT_ACTION,
            principal: principal.arn,
            resource: { accountId: key.accountId, resource: key.arn },
            contextVariables: { ...kmsContext(secret, principal.accountId), ...principalContext(principal) },
          },
        },
        known,
        `${DECRYPT_ACTION} by ${principal.arn} on ${key.arn} for ${secret.arn}`,
      )
    : undefined;
  // Without the key policy the KMS side is unknown: taken as allowing (over-reporting rather
  // than hiding a read), and the access says so.
  if (decrypt && !decrypt.allowed) return undefined;
  const kmsStatements = decrypt
    ? labelsOf(
        getGrantReasons(decrypt.analysis),
        names,
        { document: keyPolicy, where: keyPolicyWhere(key) },
        'both',
      )
    : [];
  const kmsConditions = decrypt ? describeConditions(decrypt.analysis.conditions) : [];
  const kmsUnknown = decrypt === undefined ? { kmsUnknown: true as const } : {};

  const reasons = getGrantReasons(full.analysis);
  const resourceStatementIndexes = reasons.flatMap((grant) =>
    grant.policyType === 'resource' ? [grant.statementIndex] : [],
  );
  const namingOf = (indexes: number[]): Naming => {
    const statements = statementsOf(secret.resourcePolicy);
    const namings = indexes.map((index) => {
      const statement = statements[index - 1];
      return statement ? statementNames(statement, principal) : undefined;
    });
    return namings.includes('principal')
      ? 'principal'
      : namings.includes('account')
        ? 'account'
        : namings.includes('anyone')
          ? 'anyone'
          : undefined;
  };
  const resourcePath = (grants: RequestGrant[], conditions: string[], statements: string[]): ReadPath => {
    const named = namingOf(
      grants.flatMap((grant) => (grant.policyType === 'resource' ? [grant.statementIndex] : [])),
    );
    return {
      via: { kind: 'resource_policy' },
      statements,
      ...(named === 'anyone' || named === undefined ? { anyPrincipalOnly: true } : { namedAs: named }),
      conditions,
    };
  };

  if (crossAccount) {
    return {
      paths: [
        resourcePath(
          reasons,
          describeConditions(full.analysis.conditions),
          labelsOf(reasons, names, { document: secret.resourcePolicy, where: resourceWhere }, 'both'),
        ),
      ],
      kmsStatements,
      kmsConditions,
      crossAccount,
      ...kmsUnknown,
    };
  }

  const identityCandidates = [
    ...new Set(
      reasons.flatMap((grant) =>
        grant.policyType === 'identity' ? [names.get(grant.policyIdentifier)] : [],
      ),
    ),
  ].filter((policy): policy is IdentityPolicy => policy !== undefined);
  const candidates = identityCandidates.length + (resourceStatementIndexes.length > 0 ? 1 : 0);
  const paths: ReadPath[] = [];
  if (candidates === 1) {
    // One policy allows it: the full simulation already is that policy's alone.
    const conditions = describeConditions(full.analysis.conditions);
    const only = identityCandidates[0];
    paths.push(
      only
        ? {
            via: identityVia(only),
            statements: labelsOf(reasons, names, { document: null, where: '' }, 'identity'),
            conditions,
          }
        : resourcePath(
            reasons,
            conditions,
            labelsOf(reasons, names, { document: secret.resourcePolicy, where: resourceWhere }, 'resource'),
          ),
    );
  } else {
    const others = principal.identityPolicies;
    for (const policy of identityCandidates) {
      const alone = await simulator.run(
        readSimulation({
          identity: [policy],
          denyFrom: others,
          resourcePolicy: secret.resourcePolicy ? denyOnly(secret.resourcePolicy) : null,
        }),
        known,
        `${what} through ${policy.id}`,
      );
      if (!alone.allowed) continue;
      paths.push({
        via: identityVia(policy),
        statements: labelsOf(
          getGrantReasons(alone.analysis),
          names,
          { document: null, where: '' },
          'identity',
        ),
        conditions: describeConditions(alone.analysis.conditions),
      });
    }
    if (resourceStatementIndexes.length > 0) {
      const alone = await simulator.run(
        readSimulation({ identity: [], denyFrom: others, resourcePolicy: secret.resourcePolicy }),
        known,
        `${what} through its resource policy`,
      );
      if (alone.allowed) {
        const grants = getGrantReasons(alone.analysis);
        paths.push(
          resourcePath(
            grants,
            describeConditions(alone.analysis.conditions),
            labelsOf(grants, names, { document: secret.resourcePolicy, where: resourceWhere }, 'resource'),
          ),
        );
      }
    }
    if (paths.length === 0) {
      // Allowed only by policies together (no single one suffices): one path per contributing
      // policy, each marked, rather than hiding access that AWS grants.
      const conditions = [
        'only together with the other listed policies',
        ...describeConditions(full.analysis.conditions),
      ];
      for (const policy of identityCandidates) {
        paths.push({
          via: identityVia(policy),
          statements: labelsOf(
            reasons.filter(
              (grant) => grant.policyType === 'identity' && names.get(grant.policyIdentifier) === policy,
            ),
            names,
            { document: null, where: '' },
            'identity',
          ),
          conditions,
        });
      }
      if (resourceStatementIndexes.length > 0) {
        paths.push(
          resourcePath(
            reasons,
            conditions,
            labelsOf(reasons, names, { document: secret.resourcePolicy, where: resourceWhere }, 'resource'),
          ),
        );
      }
    }
  }
  return { paths, kmsStatements, kmsConditions, crossAccount, ...kmsUnknown };
}

function identityVia(policy: IdentityPolicy): ReadVia {
  return { kind: 'identity_policy', policy: policy.id, ...(policy.group ? { group: policy.group } : {}) };
}

/** A policy that lets the simulated outsider do anything: its own account's policies are unknown. */
const UNKNOWN_IDENTITY = [
  {
    name: 'unknown identity policies (assumed to allow)',
    policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  },
];

/**
 * Stand-ins for "any principal": one in another account (000000000000, or an account the
 * statements' conditions name), one in the secret's account with no policies. Who they are is
 * unknown to the simulation (aws:PrincipalArn, and outside the secret's account aws:PrincipalAccount
 * too), so a `*` statement that selects principals by a condition on them (`aws:PrincipalAccount`,
 * `aws:PrincipalArn`) comes out "allowed when …" with that condition, not refused.
 */
const ANY_PRINCIPAL_NAME = 'access-review-any-principal';
const OTHER_ACCOUNT = '000000000000';

/** Accounts (12 digits) that the conditions of a resource policy's statements allowing the read name. */
function accountsInConditions(secret: SecretRecord): string[] {
  const accounts = new Set<string>();
  for (const statement of statementsOf(secret.resourcePolicy)) {
    if (!statementAllows(statement, READ_ACTION, secret.arn) || !statement.Condition) continue;
    for (const match of JSON.stringify(statement.Condition).matchAll(/(?<!\d)\d{12}(?!\d)/g)) {
      if (match[0] !== secret.accountId) accounts.add(match[0]);
    }
  }
  return [...accounts].sort();
}

/** What `*` lets some principal read, tried in other accounts first (reach), then in the secret's own. */
async function anyoneReads(
  secret: SecretRecord,
  key: KeyRecord,
  simulator: Simulator,
): Promise<
  | (Pick<ExternalReader, 'statements' | 'kmsStatements' | 'conditions' | 'kmsEvaluated'> & {
      reach: 'any_account' | 'this_account';
    })
  | undefined
> {
  const partition = secret.arn.split(':')[1] ?? 'aws';
  const standIn = (account: string) => `arn:${partition}:iam::${account}:role/${ANY_PRINCIPAL_NAME}`;
  // Outside the secret's account the stand-in's account stays unknown (a condition on it is listed,
  // not decided); an account the conditions name is tried too, for a key policy that lets only
  // that account decrypt (kms:CallerAccount and the principal's ARN are in it).
  for (const account of [OTHER_ACCOUNT, ...accountsInConditions(secret)]) {
    const result = await outsiderReads(
      secret,
      key,
      standIn(account),
      account,
      { read: true, decrypt: true },
      simulator,
      { arn: false, account: false },
    );
    if (result) return { ...result, reach: 'any_account' };
  }
  const here = await outsiderReads(
    secret,
    key,
    standIn(secret.accountId),
    secret.accountId,
    // In its own account `*` alone opens the secret; the key still needs the caller's
    // kms:Decrypt where the key policy delegates to IAM, which some principal may have.
    { read: false, decrypt: true },
    simulator,
    { arn: false, account: true },
  );
  return here ? { ...here, reach: 'this_account' } : undefined;
}

/**
 * Principals the secret's resource policy names that are in no reviewed account: other accounts'
 * roots, roles and users, AWS services, and `*`. Their identity side is unknown, so it is assumed
 * to allow (an outsider's administrator can always grant themselves the identity side); the
 * resource policy and the key policy decide. Principals of reviewed accounts are evaluated one by
 * one instead (evaluateSecretRead). `warn` receives principals nobody can act as (deleted ones).
 */
export async function externalReaders(
  inventory: Inventory,
  secret: SecretRecord,
  simulator: Simulator,
  warn: (message: string) => void = () => {},
): Promise<ExternalReader[]> {
  const named = new Map<string, ExternalPrincipalType>();
  for (const statement of statementsOf(secret.resourcePolicy)) {
    if (!statementAllows(statement, READ_ACTION, secret.arn)) continue;
    const principals = principalsOf(statement.Principal);
    if (principals.anyone || statement.NotPrincipal !== undefined) named.set('*', 'aws_anyone');
    for (const value of principals.aws) {
      const account = accountOfPrincipal(value);
      if (!account) {
        // AWS replaces a deleted principal with its unique id (AIDA…, AROA…): it matches nobody now.
        warn(
          `the resource policy of ${secret.arn} names ${value}, which is no principal (deleted?); ignored`,
        );
        continue;
      }
      if (inventory.accounts.has(account)) continue;
      named.set(isAccountPrincipal(value) ? accountPrincipalArn(value) : value, externalTypeOf(value));
    }
    for (const service of principals.service) named.set(service, 'aws_service');
    for (const other of [...principals.federated, ...principals.canonicalUser]) {
      warn(`the resource policy of ${secret.arn} names ${other}, which the connector does not evaluate`);
    }
  }
  if (named.size === 0) return [];
  const key = keyOf(inventory, secret);
  const readers: ExternalReader[] = [];
  for (const [principal, principalType] of named) {
    if (principalType === 'aws_anyone') {
      const anyone = await anyoneReads(secret, key, simulator);
      if (anyone) {
        readers.push({
          principalType,
          principal,
          ...anyone,
          crossAccount: anyone.reach === 'any_account',
        });
      }
      continue;
    }
    const result = await namedOutsiderReads(secret, key, principalType, principal, simulator);
    if (result) readers.push({ principalType, principal, ...result });
  }
  return readers;
}

/** The type an AWS principal value of a Principal block has, outside the reviewed accounts. */
function externalTypeOf(value: string): ExternalPrincipalType {
  if (isAccountPrincipal(value)) return 'aws_account';
  if (/:(role|assumed-role)\//.test(value)) return 'iam_role';
  if (/:user\//.test(value)) return 'iam_user';
  return 'aws_account';
}

async function namedOutsiderReads(
  secret: SecretRecord,
  key: KeyRecord,
  principalType: Exclude<ExternalPrincipalType, 'aws_anyone'>,
  principal: string,
  simulator: Simulator,
): Promise<Omit<ExternalReader, 'principalType' | 'principal'> | undefined> {
  const isService = principalType === 'aws_service';
  const account = isService ? secret.accountId : (accountOfPrincipal(principal) ?? '');
  const result = await outsiderReads(
    secret,
    key,
    principal,
    account,
    { read: !isService, decrypt: !isService },
    simulator,
  );
  return result && { ...result, crossAccount: !isService };
}

/**
 * Whether one principal outside the reviewed accounts (an account root, a role or user there, an
 * AWS service) reads the secret now through any statement: one naming it, its account, or every
 * principal (`*`, NotPrincipal). Its own policies are assumed to allow, as in externalReaders.
 */
export async function outsiderReadsNow(
  inventory: Inventory,
  secret: SecretRecord,
  principalType: Exclude<ExternalPrincipalType, 'aws_anyone'>,
  principal: string,
  simulator: Simulator,
): Promise<Omit<ExternalReader, 'principalType' | 'principal'> | undefined> {
  const account = accountOfPrincipal(principal);
  const naming = {
    arn: principal,
    type: principalType === 'iam_user' ? ('iam_user' as const) : ('iam_role' as const),
    accountId: account ?? '',
    name: principal.split('/').pop() ?? '',
  };
  const named = statementsOf(secret.resourcePolicy).some((statement) => {
    if (!statementAllows(statement, READ_ACTION, secret.arn)) return false;
    if (principalType === 'aws_service') {
      return (
        statement.Principal === '*' ||
        statement.NotPrincipal !== undefined ||
        principalsOf(statement.Principal).service.includes(principal)
      );
    }
    return statementNames(statement, naming) !== undefined;
  });
  if (!named) return undefined;
  return namedOutsiderReads(secret, keyOf(inventory, secret), principalType, principal, simulator);
}

async function outsiderReads(
  secret: SecretRecord,
  key: KeyRecord,
  principal: string,
  account: string,
  assumeIdentityAllows: { read: boolean; decrypt: boolean },
  simulator: Simulator,
  identityKnown: { arn: boolean; account: boolean } = { arn: true, account: true },
): Promise<Pick<ExternalReader, 'statements' | 'kmsStatements' | 'conditions' | 'kmsEvaluated'> | undefined> {
  const isService = !principal.startsWith('arn:');
  const context: Record<string, string> = isService
    ? { 'aws:PrincipalIsAWSService': 'true' }
    : {
        ...(identityKnown.arn ? { 'aws:PrincipalArn': principal } : {}),
        ...(identityKnown.account ? { 'aws:PrincipalAccount': account } : {}),
        'aws:PrincipalIsAWSService': 'false',
      };
  const known = KNOWN_KEYS.filter(
    (constraint) =>
      (identityKnown.arn || constraint.keyName !== 'aws:PrincipalArn') &&
      (identityKnown.account || constraint.keyName !== 'aws:PrincipalAccount'),
  );
  const read = await simulator.run(
    {
      identityPolicies: assumeIdentityAllows.read ? UNKNOWN_IDENTITY : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(secret.resourcePolicy ? { resourcePolicy: withSecretTagAliases(secret.resourcePolicy) } : {}),
      request: {
        action: READ_ACTION,
        principal,
        resource: { accountId: secret.accountId, resource: secret.arn },
        contextVariables: { ...secretContext(secret), ...context },
      },
    },
    known,
    `${READ_ACTION} by ${principal} on ${secret.arn}`,
  );
  if (!read.allowed) return undefined;
  const statements = labelsOf(
    getGrantReasons(read.analysis),
    new Map(),
    { document: secret.resourcePolicy, where: resourcePolicyWhere(secret) },
    'resource',
  );
  const conditions = describeConditions(read.analysis.conditions);
  // A service's KMS use is made by the service itself, under conditions the key policy states
  // for it; it is not the caller's kms:Decrypt and is not simulated here.
  if (isService) return { statements, kmsStatements: [], conditions, kmsEvaluated: false };
  // Without the key policy the KMS side is unknown, taken as allowing (see evaluateSecretRead).
  const keyPolicy = key.policy;
  if (!keyPolicy) return { statements, kmsStatements: [], conditions, kmsEvaluated: false };
  const decrypt = await simulator.run(
    {
      identityPolicies: assumeIdentityAllows.decrypt ? UNKNOWN_IDENTITY : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: withKmsContextAliases(keyPolicy),
      request: {
        action: DECRYPT_ACTION,
        principal,
        resource: { accountId: key.accountId, resource: key.arn },
        contextVariables: { ...kmsContext(secret, account), ...context },
      },
    },
    known,
    `${DECRYPT_ACTION} by ${principal} on ${key.arn} for ${secret.arn}`,
  );
  if (!decrypt.allowed) return undefined;
  return {
    statements,
    kmsStatements: labelsOf(
      getGrantReasons(decrypt.analysis),
      new Map(),
      { document: keyPolicy, where: keyPolicyWhere(key) },
      'resource',
    ),
    conditions: [...conditions, ...describeConditions(decrypt.analysis.conditions)],
    kmsEvaluated: true,
  };
}

/**
 * Whether a role's trust policy admits a GitHub OIDC subject: sts:AssumeRoleWithWebIdentity by
 * the account's GitHub OIDC provider, with `<provider>:sub` set to `subject` taken literally (a
 * pattern is checked as the string it is: `repo:acme/*` still admits the literal `repo:acme/api:*`).
 * The audience is unknown: a workflow chooses the `aud` of its token (configure-aws-credentials'
 * `audience` input), so a statement admits the subject whatever audience it names. Returns the
 * admitting statements' labels, or undefined.
 */
export async function trustAdmits(
  trust: PolicyDocument,
  role: { arn: string; accountId: string },
  provider: string,
  subject: string,
  simulator: Simulator,
): Promise<string[] | undefined> {
  const partition = role.arn.split(':')[1] ?? 'aws';
  const providerArn = `arn:${partition}:iam::${role.accountId}:oidc-provider/${provider}`;
  const aliased = withOidcAliases(trust, provider);
  const result = await simulator.run(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: aliased,
      request: {
        action: ASSUME_WEB_IDENTITY_ACTION,
        principal: providerArn,
        resource: { accountId: role.accountId, resource: role.arn },
        contextVariables: { [OIDC_SUB_ALIAS]: subject },
      },
    },
    [{ keyName: OIDC_SUB_ALIAS, presenceIsKnown: true, valueIsKnown: true }],
    `${ASSUME_WEB_IDENTITY_ACTION} of ${role.arn} by ${subject}`,
  );
  if (!result.allowed) return undefined;
  return labelsOf(
    getGrantReasons(result.analysis),
    new Map(),
    { document: trust, where: `the trust policy of ${role.arn}` },
    'resource',
  );
}
