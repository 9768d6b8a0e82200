import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const runnerGroups: GitHubAccessKind = {
  grantKinds: ['runner_group_access'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('runner-groups'),
  check: () => notBuiltYet('runner-groups'),
};
