import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const invitations: GitHubAccessKind = {
  grantKinds: ['organization_invitation', 'repository_invitation'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('invitations'),
  check: () => notBuiltYet('invitations'),
};
