import { ApprovalRepository } from './approvals';
import { CampaignRepository } from './campaigns';
import { DecisionRepository } from './decisions';
import { EventLog } from './events';
import { GrantRepository } from './grants';
import { OutcomeRepository } from './outcomes';
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
  };
}
