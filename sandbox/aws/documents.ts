import { runSimulation } from '@cloud-copilot/iam-simulate';
import { prototypeKeyPaths } from '../../functions/core/records';

/** A policy document as JSON: `{ Version, Statement, … }`. */
export type PolicyDocument = Record<string, unknown>;

/**
 * A policy as the sandbox keeps it: the exact text last written (AWS hands back what it was given,
 * whitespace and key order included) and its parse, which authorization and tests read.
 */
export interface StoredPolicy {
  readonly text: string;
  readonly document: PolicyDocument;
}

/** A text that is not a policy document; the message is the one AWS gives where known. */
export class MalformedPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedPolicyError';
  }
}

/**
 * Where a policy is attached decides what it may say: identity policies name no Principal, trust
 * and resource policies (secret policies, key policies) must.
 */
export type PolicyKind = 'identity' | 'trust' | 'resource';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The structural mistakes AWS refuses before anything else, with AWS's words; undefined when none. */
export function policyDocumentProblem(document: unknown, kind: PolicyKind): string | undefined {
  if (!isObject(document)) return 'Syntax errors in policy.';
  if (!('Statement' in document)) return 'Missing required field Statement.';
  const statements = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  if (statements.length === 0) return 'Missing required field Statement.';
  for (const statement of statements) {
    if (!isObject(statement)) return 'Syntax errors in policy.';
    if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
      return statement.Effect === undefined ? 'Missing required field Effect.' : 'Invalid effect.';
    }
    const hasPrincipal = 'Principal' in statement || 'NotPrincipal' in statement;
    if (kind === 'identity' && hasPrincipal) return 'Policy document should not specify a principal.';
    if (kind !== 'identity' && !hasPrincipal) return 'Missing required field Principal.';
  }
  return undefined;
}

/** Parses and checks a policy text; throws MalformedPolicyError with AWS's message when it is not one. */
export function parsePolicyText(text: string, kind: PolicyKind): StoredPolicy {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new MalformedPolicyError('Syntax errors in policy.');
  }
  // IAM's grammar has no such keys; refusing them keeps them out of every stored document.
  if (prototypeKeyPaths(document).length > 0) throw new MalformedPolicyError('Syntax errors in policy.');
  const problem = policyDocumentProblem(document, kind);
  if (problem) throw new MalformedPolicyError(problem);
  return { text, document: document as PolicyDocument };
}

/** A stored policy from a document (written as compact JSON, as the console would) or from exact text. */
export function storedPolicy(value: string | PolicyDocument, kind: PolicyKind = 'identity'): StoredPolicy {
  return typeof value === 'string'
    ? parsePolicyText(value, kind)
    : { text: JSON.stringify(value), document: value };
}

const VALIDATION_REQUEST = {
  action: 'sts:GetCallerIdentity',
  principal: 'arn:aws:iam::000000000000:role/policy-check',
  resource: { accountId: '000000000000', resource: '*' },
  contextVariables: {},
};

/**
 * What iam-simulate finds wrong in a document (unknown operators, an action without a service
 * prefix, a Resource missing…). The sandbox decides every call with iam-simulate, so a document it
 * cannot read must be refused when written, the way AWS refuses it, not fail a later call.
 */
export async function simulatorPolicyProblems(document: PolicyDocument, kind: PolicyKind): Promise<string[]> {
  const asIdentity = kind === 'identity';
  const result = await runSimulation(
    {
      identityPolicies: asIdentity ? [{ name: 'document', policy: document }] : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(asIdentity ? {} : { resourcePolicy: document }),
      request: VALIDATION_REQUEST,
    },
    {},
  );
  if (result.resultType !== 'error') return [];
  const errors = asIdentity
    ? (result.errors.identityPolicyErrors?.document ?? [])
    : (result.errors.resourcePolicyErrors ?? []);
  return errors.map((error) => `${error.path}: ${error.message}`);
}

/**
 * IAM returns policy documents URL-encoded inside its XML (RFC 3986: encodeURIComponent leaves
 * !'()* alone, which RFC 3986 reserves), so clients decodeURIComponent them.
 */
export function encodePolicyText(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
