import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const deployKeys: GitHubAccessKind = {
  grantKinds: ['deploy_key'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('deploy-keys'),
  check: () => notBuiltYet('deploy-keys'),
};
