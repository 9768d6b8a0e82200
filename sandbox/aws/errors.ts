/**
 * An answer AWS itself would give (NoSuchEntity, AccessDeniedException, …). Handlers throw it; the
 * protocol layer renders it as Query XML or as JSON 1.1, with the code and status given here.
 */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'AwsServiceError';
  }
}

/** An exchange that broke the service's Smithy model as the AWS SDK carries it. */
export class AwsSchemaViolation extends Error {
  constructor(
    readonly exchange: string,
    readonly problems: readonly string[],
  ) {
    super(`${exchange} does not match the AWS SDK's model: ${problems.join('; ')}`);
    this.name = 'AwsSchemaViolation';
  }
}

/** The scenario asks for something the sandbox cannot build (a policy iam-simulate cannot read, say). */
export class AwsScenarioError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the aws scenario is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'AwsScenarioError';
  }
}
