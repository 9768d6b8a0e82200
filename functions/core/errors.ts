/**
 * Named errors. Step Functions matches a Lambda failure on `errorType`, which the Node runtime
 * takes from `error.name`; these names are what the workflow's Retry and Catch clauses list.
 */
export class AccessReviewError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A fault that may pass: throttling, 5xx, a lost connection. The workflow retries these. */
export class TransientError extends AccessReviewError {}

/** Configuration or scenario input that cannot be used. `problems` names every bad field. */
export class ConfigError extends AccessReviewError {
  constructor(
    message: string,
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super(`${message}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`, options);
  }
}

/** A source system answered, but refused or failed the operation (not worth retrying). */
export class ConnectorError extends AccessReviewError {}

/** The thing asked for does not exist (campaign, grant, task). */
export class NotFoundError extends AccessReviewError {}

/** A request that cannot be parsed or does not match what we sent. */
export class MalformedRequestError extends AccessReviewError {}
