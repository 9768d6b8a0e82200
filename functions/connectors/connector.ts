import type { Grant } from '../core/grant';

/** One path by which a principal still holds an entitlement, e.g. "team:acme/platform" with write. */
export interface AccessPath {
  via: string;
  permission: string;
}

/**
 * What reading the source again says about a revoked grant. `absent` means no path gives the
 * principal the entitlement (or more); `present` lists every path that still does.
 */
export type CheckResult =
  | { status: 'absent'; checkedAt: string }
  | { status: 'present'; checkedAt: string; paths: AccessPath[] };

export interface RevokeResult {
  /** `removed`: the source accepted the removal; `already_absent`: nothing was there to remove. */
  outcome: 'removed' | 'already_absent';
  appliedAt: string;
  /** What was done, in words an auditor reads: "DELETE collaborator bob from acme/api". */
  action: string;
}

/**
 * One per external system, after ConductorOne baton's ResourceSyncer: list what exists, remove a
 * grant at its source, and read again to check the removal. `snapshot` streams so a large
 * organisation never sits in memory as one list.
 */
export interface Connector {
  readonly name: Grant['connector'];
  snapshot(): AsyncIterable<Grant>;
  revoke(grant: Grant): Promise<RevokeResult>;
  check(grant: Grant): Promise<CheckResult>;
}
