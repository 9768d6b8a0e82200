import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import type { AwsRoleUse } from './hub-role-paths';

/**
 * The single catalogue of Lambda handlers: what each one is called, where its entry file is and
 * exactly what it may touch. The stack builds every function, role and grant from this list, and
 * the tests compare the synthesized IAM policies against it, so a permission cannot be added in
 * one place and forgotten in the other.
 */

/** The DynamoDB operations the store uses; nothing else is ever granted on the table. */
export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'Query' | 'BatchWriteItem';

/** Which vendor credentials a handler reads from Secrets Manager. */
export type SecretName = 'github' | 'slack';

export type HandlerName =
  | 'start-campaign'
  | 'snapshot'
  | 'assign-reviewers'
  | 'request-review'
  | 'mark-unresponsive'
  | 'check-revocations'
  | 'request-revocation-approval'
  | 'reject-held-revocations'
  | 'apply-revocations'
  | 'verify-revocations'
  | 'finalize'
  | 'slack-events';

export interface HandlerSpec {
  name: HandlerName;
  /** Construct id of the function (also the prefix of its logical id in the template). */
  id: string;
  /** Absolute path of the TypeScript entry under functions/handlers/. */
  entry: string;
  description: string;
  tableActions: readonly TableAction[];
  secrets: readonly SecretName[];
  /**
   * Only slack-events answers waitForTaskToken tasks (when a reviewer's last grant is decided, or
   * the security team decides on held revocations).
   */
  completesReviewTasks: boolean;
  /**
   * The member-account role this handler's connector calls assume (configured per account under
   * `aws.accounts`): `read` for snapshot (and its re-check of open remediations) and verify,
   * `revoke` for apply. A handler with a role runs the AWS connector, which evaluates policies with
   * @cloud-copilot/iam-simulate, so it is also bundled with that package in node_modules.
   */
  awsRoles: AwsRoleUse;
  timeout: Duration;
  memoryMiB: number;
}

/** Metadata key that ties a function construct (and its CloudFormation resource) to its handler name. */
export const HANDLER_METADATA_KEY = 'access-review:handler';

const READ_WRITE: readonly TableAction[] = ['GetItem', 'PutItem', 'UpdateItem', 'Query'];

function entry(name: HandlerName): string {
  return fileURLToPath(new URL(`../../functions/handlers/${name}.ts`, import.meta.url));
}

export const HANDLERS: readonly HandlerSpec[] = [
  {
    name: 'start-campaign',
    id: 'StartCampaignFunction',
    entry: entry('start-campaign'),
    description: 'Creates (or finds, on retry) the campaign record for this execution',
    tableActions: ['GetItem', 'PutItem', 'Query'],
    secrets: [],
    completesReviewTasks: false,
    awsRoles: 'none',
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'snapshot',
    id: 'SnapshotFunction',
    entry: entry('snapshot'),
    description:
      'Reads every grant from GitHub (and the AWS member accounts, when configured) into the campaign',
    tableActions: [...READ_WRITE, 'BatchWriteItem'],
    secrets: ['github'],
    completesReviewTasks: false,
    awsRoles: 'read',
    // A large organisation costs thousands of GraphQL points; the Lambda maximum is the ceiling.
    timeout: Duration.minutes(15),
    // Not raised for AWS: evaluating a policy with iam-simulate took about 0.3 ms per request and
    // the IAM data it loads about 35 MB of memory (measured on a 2-core machine, November 2026), so
    // the evaluation itself fits this size. What grows with an account is the authorization details
    // the connector holds; raise this if a large account's snapshot shows it in the logs.
    memoryMiB: 1024,
  },
  {
    name: 'assign-reviewers',
    id: 'AssignReviewersFunction',
    entry: entry('assign-reviewers'),
    description: 'Routes each grant to the person who vouches for it (Slack users are looked up by email)',
    tableActions: READ_WRITE,
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    timeout: Duration.seconds(30),
    memoryMiB: 512,
  },
  {
    name: 'request-review',
    id: 'RequestReviewFunction',
    entry: entry('request-review'),
    description: "Stores the reviewer's task token and sends the Slack review request",
    tableActions: READ_WRITE,
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'mark-unresponsive',
    id: 'MarkUnresponsiveFunction',
    entry: entry('mark-unresponsive'),
    description: 'Records a reviewer who did not answer within the review window',
    tableActions: READ_WRITE,
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'check-revocations',
    id: 'CheckRevocationsFunction',
    entry: entry('check-revocations'),
    description:
      "Checks the campaign's revocations against the revocation guard's limits and protected principals",
    tableActions: READ_WRITE,
    // GET /user (or /app): the tool's own GitHub identity, which is never revoked.
    secrets: ['github'],
    completesReviewTasks: false,
    awsRoles: 'none',
    // Reads every grant and decision of the campaign once; a large one takes more than seconds.
    timeout: Duration.minutes(5),
    memoryMiB: 512,
  },
  {
    name: 'request-revocation-approval',
    id: 'RequestRevocationApprovalFunction',
    entry: entry('request-revocation-approval'),
    description: 'Stores the approval task token and asks the security team in Slack about held revocations',
    tableActions: READ_WRITE,
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'reject-held-revocations',
    id: 'RejectHeldRevocationsFunction',
    entry: entry('reject-held-revocations'),
    description: 'Records that nobody approved the held revocations in time, which rejects them',
    tableActions: READ_WRITE,
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'apply-revocations',
    id: 'ApplyRevocationsFunction',
    entry: entry('apply-revocations'),
    description: 'Removes revoked access at its source in GitHub or AWS',
    tableActions: READ_WRITE,
    secrets: ['github'],
    completesReviewTasks: false,
    awsRoles: 'revoke',
    timeout: Duration.minutes(15),
    memoryMiB: 512,
  },
  {
    name: 'verify-revocations',
    id: 'VerifyRevocationsFunction',
    entry: entry('verify-revocations'),
    description: 'Reads GitHub or AWS again to confirm each revoked access is gone by every path',
    tableActions: READ_WRITE,
    secrets: ['github'],
    completesReviewTasks: false,
    awsRoles: 'read',
    timeout: Duration.minutes(15),
    memoryMiB: 512,
  },
  {
    name: 'finalize',
    id: 'FinalizeFunction',
    entry: entry('finalize'),
    description: 'Closes the campaign and records the chain head',
    tableActions: READ_WRITE,
    secrets: [],
    completesReviewTasks: false,
    awsRoles: 'none',
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'slack-events',
    id: 'SlackEventsFunction',
    entry: entry('slack-events'),
    description: 'Slack interactivity endpoint (Bolt): records decisions and completes review tasks',
    tableActions: READ_WRITE,
    secrets: ['slack'],
    completesReviewTasks: true,
    awsRoles: 'none',
    // Slack gives an interaction 3 seconds; anything slower has already failed for the reviewer.
    timeout: Duration.seconds(10),
    // More memory is more CPU: a faster cold start is what keeps the first click inside 3 seconds.
    memoryMiB: 1024,
  },
];

/** Handlers that are steps of the state machine (everything but the Slack endpoint). */
export type WorkflowHandlerName = Exclude<HandlerName, 'slack-events'>;

export function handlerSpec(name: HandlerName): HandlerSpec {
  const spec = HANDLERS.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`no handler named ${name} in the catalogue`);
  return spec;
}
