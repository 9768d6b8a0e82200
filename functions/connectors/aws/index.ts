export type { AwsTuning } from './clients';
export { type AwsConnector, type AwsConnectorOptions, createAwsConnector } from './connector';
export type { BaseCredentials } from './credentials';
export {
  AwsAccessDeniedError,
  AwsAuthenticationError,
  AwsGrantError,
  AwsRequestError,
  AwsThrottledError,
  AwsTimeoutError,
  AwsUnavailableError,
  PolicyDocumentError,
} from './errors';
export type { EvaluationStats } from './evaluate';
