import { ApprovalRepository } from './approvals';
import { CampaignRepository } from './campaigns';
import { DecisionRepository } from './decisions';
import { EventLog } from './events';
import { GrantRepository } from './grants';
import { OutcomeRepository } from './outcomes';
import { RoutingFactRepository } from './routing-facts';
import { SignatureRepository } from './signatures';
import type { TableRef } from './table';
import { TaskRepository } from './tasks';

export interface Store {
  campaigns: CampaignRepository;
  grants: GrantRepository;
  tasks: TaskRepository;
  decisions: DecisionRepository;
  outcomes: OutcomeRepository;
  events: EventLog;
  /** The revocation guard's verdict and the security team's answer. */
  approvals: ApprovalRepository;
  /** Chain-head signatures, the signing keys' public halves, and the archive receipt (the anchor). */
  signatures: SignatureRepository;
  /** Out-of-scope grants a scoped snapshot read for routing only (who holds what): never evidence. */
  routingFacts: RoutingFactRepository;
}

export function createStore(table: TableRef): Store {
  return {
    campaigns: new CampaignRepository(table),
    grants: new GrantRepository(table),
    tasks: new TaskRepository(table),
    decisions: new DecisionRepository(table),
    outcomes: new OutcomeRepository(table),
    events: new EventLog(table),
    approvals: new ApprovalRepository(table),
    signatures: new SignatureRepository(table),
    routingFacts: new RoutingFactRepository(table),
  };
}
