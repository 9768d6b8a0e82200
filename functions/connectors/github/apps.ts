import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const appInstallations: GitHubAccessKind = {
  grantKinds: ['app_installation'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('apps'),
  check: () => notBuiltYet('apps'),
};
