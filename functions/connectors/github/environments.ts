import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const environments: GitHubAccessKind = {
  grantKinds: ['environment_reviewer'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('environments'),
  check: () => notBuiltYet('environments'),
};
