import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const personalAccessTokens: GitHubAccessKind = {
  grantKinds: ['personal_access_token'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('personal-access-tokens'),
  check: () => notBuiltYet('personal-access-tokens'),
};
