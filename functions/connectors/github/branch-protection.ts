import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const branchProtection: GitHubAccessKind = {
  grantKinds: ['branch_protection_bypass'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('branch-protection'),
  check: () => notBuiltYet('branch-protection'),
};
