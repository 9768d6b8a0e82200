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
export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'Query' | 'BatchWriteItem' | 'BatchGetItem';

/** Which vendor credentials a handler reads from Secrets Manager. */
export type SecretName = 'github' | 'slack';

export type HandlerName =
  | 'start-campaign'
  | 'snapshot'
  | 'assign-reviewers'
  | 'request-review'
  | 'await-review'
  | 'review-checkpoint'
  | 'mark-unresponsive'
  | 'check-revocations'
  | 'request-revocation-approval'
  | 'reject-held-revocations'
  | 'apply-revocations'
  | 'verify-revocations'
  | 'finalize'
  | 'slack-events'
  | 'notify-failure';

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
  /**
   * ses:SendEmail as the SES identity of `notifications.email` (lib/aws/failure-alerts.ts grants
   * it), and nothing at all when no email is configured: notify-failure, Finalize's summary, and the
   * review-task and reminder emails for people not reachable in Slack.
   */
  sendsEmail: boolean;
  /**
   * kms:Sign (and kms:GetPublicKey) on the stack's signing key (lib/aws/signing-key.ts): the
   * handler signs the campaign's chain head as it advances. Every step of the workflow appends
   * events, so every step signs; the Slack endpoint and the failure notifier never do, so a forged
   * request to either cannot produce a signature. The key policy names exactly these roles.
   */
  signsChain: boolean;
  /**
   * Writes the evidence pack to the Object Lock bucket (lib/aws/evidence-bucket.ts) under
   * `campaigns/*`: only finalize, once, when the campaign closes.
   */
  archivesEvidence: boolean;
  timeout: Duration;
  memoryMiB: number;
  /** /tmp size when the default 512 MiB is not enough (finalize stages the evidence pack there). */
  ephemeralStorageMiB?: number;
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
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
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
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
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
    // Each person routed around for lack of Slack is told by email which of their grants went to whom.
    sendsEmail: true,
    signsChain: true,
    archivesEvidence: false,
    // Slack's users.lookupByEmail (Tier 3, about 50 a minute) for everyone involved, then the
    // assignments: a company of hundreds needs minutes, not 30 s.
    timeout: Duration.minutes(5),
    memoryMiB: 512,
  },
  {
    name: 'request-review',
    id: 'RequestReviewFunction',
    entry: entry('request-review'),
    description:
      "Sends the reviewer's review request (Slack, or email for someone not in Slack) and starts their window",
    // A full redraw reads, by key, the decisions the by-reviewer index may not show yet.
    tableActions: [...READ_WRITE, 'BatchGetItem'],
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    // The review task by email for a reviewer not reachable in Slack (notifications.email.reviewTasks).
    sendsEmail: true,
    signsChain: true,
    archivesEvidence: false,
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'await-review',
    id: 'AwaitReviewFunction',
    entry: entry('await-review'),
    description: "Stores the reviewer's task token for the next stretch of their window",
    // The task (GetItem) and its token (UpdateItem); a closed task fails the invocation instead
    // (ReviewTaskClosedError, caught by the workflow), so it needs no states:SendTaskSuccess.
    // Query and PutItem: it signs the chain head after it (the decisions clicked since the last
    // stretch began), as every workflow step does; the Slack endpoint never signs.
    tableActions: [...READ_WRITE],
    secrets: [],
    completesReviewTasks: false,
    awsRoles: 'none',
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
    timeout: Duration.seconds(30),
    memoryMiB: 256,
  },
  {
    name: 'review-checkpoint',
    id: 'ReviewCheckpointFunction',
    entry: entry('review-checkpoint'),
    description:
      'Reminds a reviewer, hands their undecided grants to the next eligible reviewer, or closes their window',
    // Escalation reads the task's grants (Query, BatchGetItem for lagging decisions), moves each
    // undecided one conditionally (UpdateItem) and records the handover (PutItem, Query).
    tableActions: [...READ_WRITE, 'BatchGetItem'],
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    // Reminders by email for a reviewer not reachable in Slack.
    sendsEmail: true,
    signsChain: true,
    archivesEvidence: false,
    // Escalation looks up the next reviewers in Slack (users.lookupByEmail, Tier 3) and posts
    // their handover messages: seconds, not minutes.
    timeout: Duration.seconds(60),
    memoryMiB: 256,
  },
  {
    name: 'mark-unresponsive',
    id: 'MarkUnresponsiveFunction',
    entry: entry('mark-unresponsive'),
    description: 'Records a reviewer who did not answer within the review window',
    // A full redraw reads, by key, the decisions the by-reviewer index may not show yet.
    tableActions: [...READ_WRITE, 'BatchGetItem'],
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
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
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
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
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
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
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
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
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
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
    sendsEmail: false,
    signsChain: true,
    archivesEvidence: false,
    timeout: Duration.minutes(15),
    memoryMiB: 512,
  },
  {
    name: 'finalize',
    id: 'FinalizeFunction',
    entry: entry('finalize'),
    description: 'Closes the campaign, signs its chain head and archives the evidence pack under Object Lock',
    tableActions: READ_WRITE,
    secrets: [],
    completesReviewTasks: false,
    awsRoles: 'none',
    // The campaign summary and "needs attention" to the security team (notifications.email.summary).
    sendsEmail: true,
    signsChain: true,
    archivesEvidence: true,
    // Closes the campaign (or records its failure), exports the evidence pack to /tmp and uploads it
    // to the Object Lock bucket. Measured (README, Benchmarks): 1 million grants export with a peak
    // RSS of 205 MB into 586 MB of files; 100,000 grants took 38–129 s on a loaded 2-core machine,
    // so a million may take several minutes: the Lambda maximum is the ceiling.
    timeout: Duration.minutes(15),
    // 1,769 MB is one full vCPU; the export is CPU-bound (hashing, CSV) and its peak RSS plus the
    // S3 client's multipart buffers fit well inside 2 GiB.
    memoryMiB: 2048,
    // A million-grant pack is 586 MB, over /tmp's default 512 MiB; 4 GiB holds about 7 million.
    ephemeralStorageMiB: 4096,
  },
  {
    name: 'slack-events',
    id: 'SlackEventsFunction',
    entry: entry('slack-events'),
    description: 'Slack interactivity endpoint (Bolt): records decisions and completes review tasks',
    // A click's redraw reads the decisions of the grants the message shows (at most 23) at once.
    tableActions: [...READ_WRITE, 'BatchGetItem'],
    secrets: ['slack'],
    completesReviewTasks: true,
    awsRoles: 'none',
    sendsEmail: false,
    signsChain: false,
    archivesEvidence: false,
    // Slack gives an interaction 3 seconds; anything slower has already failed for the reviewer.
    timeout: Duration.seconds(10),
    // More memory is more CPU: a faster cold start is what keeps the first click inside 3 seconds.
    memoryMiB: 1024,
  },
  {
    name: 'notify-failure',
    id: 'NotifyFailureFunction',
    entry: entry('notify-failure'),
    description:
      'Tells the security team (email, Slack) that a campaign execution failed, timed out or was aborted',
    // The campaign, its campaign_failed event and the revocations still pending (GetItem, Query);
    // the failure_notified marker that makes a redelivered event send nothing twice (UpdateItem).
    tableActions: ['GetItem', 'Query', 'UpdateItem'],
    secrets: ['slack'],
    completesReviewTasks: false,
    awsRoles: 'none',
    sendsEmail: true,
    signsChain: false,
    archivesEvidence: false,
    // Two calls (SES, Slack), each bounded well inside this; EventBridge invokes it asynchronously.
    timeout: Duration.seconds(60),
    memoryMiB: 256,
  },
];

/** Handlers that are not steps of the state machine: the Slack endpoint and the EventBridge target. */
export const NON_WORKFLOW_HANDLERS = [
  'slack-events',
  'notify-failure',
] as const satisfies readonly HandlerName[];

/** Handlers that are steps of the state machine. */
export type WorkflowHandlerName = Exclude<HandlerName, (typeof NON_WORKFLOW_HANDLERS)[number]>;

/** Whether the state machine invokes this handler (the catalogue entries a workflow role may call). */
export function isWorkflowHandler(name: HandlerName): name is WorkflowHandlerName {
  return !(NON_WORKFLOW_HANDLERS as readonly HandlerName[]).includes(name);
}

export function handlerSpec(name: HandlerName): HandlerSpec {
  const spec = HANDLERS.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`no handler named ${name} in the catalogue`);
  return spec;
}
