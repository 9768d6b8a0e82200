import type { AwsConfig } from '../../core/config';
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
