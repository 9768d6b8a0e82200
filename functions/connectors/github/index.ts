export {
  createGitHubClient,
  type GitHubClient,
  type GitHubClientOptions,
  type ThrottleTuning,
} from './client';
export { createGitHubConnector, type GitHubConnectorOptions } from './connector';
