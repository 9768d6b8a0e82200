import type { AwsConfig } from '../../core/config';
import type { PolicyChange, RevokeResult } from '../connector';
import type { AwsClients } from './clients';
import type { Simulator } from './evaluate';

/** What every revoke and check needs: the clients, the configuration, the clock, and the simulator. */
export interface AwsContext {
  clients: AwsClients;
  config: AwsConfig;
  now: () => Date;
  warn: (message: string) => void;
  simulator: Simulator;
}

export function isoNow(context: Pick<AwsContext, 'now'>): string {
  return context.now().toISOString();
}

/**
 * A revoke read and computed but not yet written: either its result needs no write (already
 * absent, a remediation for a person), or `changes` are exactly the documents `apply` writes, in
 * the order it writes them. `plan` returns the changes; `revoke` applies.
 */
export type PreparedRevoke =
  | { result: RevokeResult }
  | { changes: PolicyChange[]; apply: () => Promise<RevokeResult> };
