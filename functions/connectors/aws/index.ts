export type { AwsTuning } from './clients';
export { type AwsConnector, type AwsConnectorOptions, createAwsConnector } from './connector';
export type { BaseCredentials } from './credentials';
export {
  AwsAccessDeniedError,
  AwsGrantError,
  AwsRequestError,
  AwsUnavailableError,
  PolicyDocumentError,
} from './errors';
export type { EvaluationStats } from './evaluate';
