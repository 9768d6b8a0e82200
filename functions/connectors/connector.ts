import { ConnectorError } from '../core/errors';
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

/**
 * One policy document a revocation changed, exactly as read from the source before and as written
 * after (strings, byte for byte), with their SHA-256 (hex): an auditor can see and re-hash the
 * precise edit. `null` where there was no document (a resource policy created or deleted).
 */
export interface PolicyChange {
  /** Which document: an ARN, `<owner ARN>#<inline policy name>`, or `<secret ARN> resource policy`. */
  policy: string;
  before: string | null;
  after: string | null;
  beforeSha256: string | null;
  afterSha256: string | null;
}

export interface RevokeResult {
  /**
   * `removed`: the source accepted the removal; `already_absent`: nothing was there to remove;
   * `remediation_required`: no API can remove this access (an app installation, a secret visible
   * to every repository), so a person must: `remediation` says what to do, and `check` keeps
   * reading the source until it is done (in the verify step and again at the next campaign).
   */
  outcome: 'removed' | 'already_absent' | 'remediation_required';
  appliedAt: string;
  /** What was done, in words an auditor reads: "DELETE collaborator bob from acme/api". */
  action: string;
  /** For `remediation_required`: what a person must do, precisely enough to do it. */
  remediation?: string;
  /** Every policy document the revocation changed (AWS); absent when none was. */
  policyChanges?: PolicyChange[];
}

/** What reading a source cost, so a campaign can show it stays inside the source's rate limits. */
export interface SourceUsage {
  /** HTTP requests sent, by the source's rate-limit resource (`core`, `graphql`). */
  requests: Record<string, number>;
  /** Rate-limit points spent, by resource, as the source's own counters report them. */
  points: Record<string, number>;
}

/** A point a snapshot can resume from; `cursor` is opaque to everyone but its connector (JSON text, < 1 KB). */
export interface SnapshotCheckpoint {
  readonly kind: 'checkpoint';
  readonly cursor: string;
}

export function isSnapshotCheckpoint(item: Grant | SnapshotCheckpoint): item is SnapshotCheckpoint {
  return (item as SnapshotCheckpoint).kind === 'checkpoint';
}

/**
 * One per external system, after ConductorOne baton's ResourceSyncer: list what exists, remove a
 * grant at its source, and read again to check the removal. `snapshot` streams so a large
 * organisation never sits in memory as one list.
 */
export interface Connector {
  readonly name: Grant['connector'];
  /** Every grant, streamed, in one go. */
  snapshot(): AsyncIterable<Grant>;
  /**
   * The same grants, resumable: a SnapshotCheckpoint between grants means everything yielded before
   * it is complete, and `resumableSnapshot(checkpoint.cursor)` later (in another Lambda) yields
   * exactly what would have followed it. Connectors without it are read with `snapshot()` in one go.
   */
  resumableSnapshot?(resumeFrom?: string): AsyncIterable<Grant | SnapshotCheckpoint>;
  revoke(grant: Grant): Promise<RevokeResult>;
  /**
   * Lowers the grant to `to`, one of downgradeOptions(grant) (functions/core/downgrade.ts), instead
   * of removing it. The result reads like a revocation's: `removed` means the source took the
   * higher entitlement away and the grant now has `to`; `already_absent` that it was already at
   * or below `to` (or gone) and nothing was sent. Absent on connectors with no downgrade (AWS).
   * Checking is `check` on the grant (the old entitlement must be gone by every path) and on the
   * same grant with entitlement `to` (it must be held directly).
   */
  downgrade?(grant: Grant, to: string): Promise<RevokeResult>;
  check(grant: Grant): Promise<CheckResult>;
  /**
   * The policy documents a revoke of this grant would change, as the source holds them now and as
   * they would be written, without writing anything (connectors that edit policies). The revoke
   * step records them before it revokes, so an attempt cut off after the source changed still
   * leaves the documents in the evidence.
   */
  plan?(grant: Grant): Promise<PolicyChange[]>;
  /** Requests and rate-limit points used since the connector was created. */
  usage(): SourceUsage;
  /**
   * Who the connector acts as at its source (GitHub: the token's user or the App's `<slug>[bot]`;
   * AWS: the roles it assumes), in the form grants name principals. The revocation guard never
   * lets a campaign revoke these: the tool would lock itself out of this and every later review.
   */
  ownIdentities?(): Promise<string[]>;
}

/**
 * The connectors a deployment uses, chosen by configuration: each built on first use (its
 * credentials are read only when a step needs it) and reused after.
 */
export interface ConnectorRegistry {
  /** Configured connectors, in a stable order. */
  readonly names: readonly Grant['connector'][];
  get(name: Grant['connector']): Promise<Connector>;
}

/** Builds a registry from one factory per configured connector. */
export function connectorRegistry(
  factories: Partial<Record<Grant['connector'], () => Promise<Connector>>>,
): ConnectorRegistry {
  const built = new Map<Grant['connector'], Promise<Connector>>();
  const names = (Object.keys(factories) as Grant['connector'][]).sort();
  return {
    names,
    get(name) {
      const factory = factories[name];
      if (!factory) {
        return Promise.reject(
          new ConnectorError(
            `connector ${name} is not configured (configured: ${names.join(', ') || 'none'})`,
          ),
        );
      }
      let connector = built.get(name);
      if (!connector) {
        connector = factory();
        // A failed build (a secret not readable yet) is tried again on the next use.
        connector.catch(() => built.delete(name));
        built.set(name, connector);
      }
      return connector;
    },
  };
}
