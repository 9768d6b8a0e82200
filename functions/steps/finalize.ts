import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MalformedRequestError } from '../core/errors';
import { sendCampaignEmails } from '../email/finalize-emails';
import { archiveEvidenceFolder } from '../evidence/archive/archive';
import { exportEvidence } from '../evidence/export';
import { signChainHead } from '../evidence/signing/sign-head';
import {
  type CampaignRecords,
  type CampaignSummary,
  countsOf,
  loadCampaignRecords,
  summarize,
} from '../evidence/summary';
import type { Services } from '../runtime/services';
import type { CampaignEvent, EventType } from '../store/events';
import { revocationEventData, revocationEventType } from '../store/outcomes';
import type { ArchiveReceipt } from '../store/signatures';
import {
  isRecordFailureInput,
  type RecordFailureInput,
  type ResumeOutput,
  recordFailureOrResume,
} from './campaign-failure';
import type { CampaignRef } from './snapshot';

/**
 * The finalize Lambda: Finalize closes a campaign (`{ campaignId }`), and the workflow's failure
 * path records a failure or, when redriven, resumes (`{ failure, error, attempt, … }`, see
 * campaign-failure.ts). One Lambda, since both read and write the same records.
 */
export async function finalizeOrRecordFailure(
  input: CampaignRef | RecordFailureInput,
  services: Services,
): Promise<CampaignSummary | ResumeOutput> {
  return isRecordFailureInput(input)
    ? recordFailureOrResume(input, services)
    : finalizeCampaign(input, services);
}

/**
 * Closes the campaign. A record whose event did not make it into the chain (a crash between the
 * two writes) is appended now, marked as recovered, so the chain accounts for every decision,
 * revocation and verification. Then the counts are recorded in a final event, the chain's head
 * (that event) is signed, and the evidence pack is archived where the table's writers cannot
 * change it. A retried Finalize finds each of these done and goes on to the next.
 */
export async function finalizeCampaign(input: CampaignRef, services: Services): Promise<CampaignSummary> {
  const { campaignId } = input;
  const { store } = services;
  if (!campaignId) throw new MalformedRequestError('Finalize needs a campaignId');
  // Read once: recovery and the summary work on these records, appending to them as they write.
  const records = await loadCampaignRecords(store, campaignId);
  if (records.campaign.status !== 'completed') {
    await recoverMissingEvents(records, services);
    if (!records.events.some((event) => event.type === 'campaign_completed')) {
      // The summary and "needs attention" emails go before the final event, so their email_sent
      // events are in the chain it closes; a retried Finalize sends only what was not sent.
      if (await sendCampaignEmails(records, summarize(records), services)) {
        records.events = await store.events.list(campaignId);
      }
      // Counted before the final event, which then records the chain it closes.
      const counts = countsOf(summarize(records));
      const cancelledBy = cancellingUser(records);
      records.events.push(
        await store.events.append(
          campaignId,
          'campaign_completed',
          // A cancelled campaign ends like any other, saying so: nothing was revoked after the cancel.
          cancelledBy === undefined ? { counts } : { counts, status: 'cancelled', cancelledBy },
          services.now(),
        ),
      );
    }
    const completedAt = services.now().toISOString();
    const counts = countsOf(summarize(records));
    await store.campaigns.advance(campaignId, 'completed', { counts, completedAt });
    records.campaign = { ...records.campaign, status: 'completed', completedAt, counts };
    services.progress(`Campaign ${campaignId} complete`);
  }
  // Before the export: the pack must carry the signature of its own last event.
  await signChainHead(campaignId, services);
  await archiveEvidence(campaignId, new Date(records.campaign.completedAt ?? services.now()), services);
  return summarize(records);
}

/** The Slack user who cancelled the campaign (campaign item or campaign_cancelled), if it was cancelled. */
function cancellingUser(records: CampaignRecords): string | undefined {
  const event = records.events.find((candidate) => candidate.type === 'campaign_cancelled');
  if (event) return typeof event.data.by === 'string' ? event.data.by : '';
  // The campaign item says so too (store/campaigns.ts `cancellation`), before its event is appended.
  const cancellation = (records.campaign as { cancellation?: { by?: unknown } }).cancellation;
  return cancellation ? String(cancellation.by ?? '') : undefined;
}

/**
 * Exports the evidence pack into a temporary folder and writes it to the archive (Object Lock on
 * AWS, a folder on the embedded host), then records the receipt on the campaign item (not in the
 * chain, which is closed). The pack is dated with the campaign's completion, so an export retried
 * after a crash has the same bytes as the first and finds its files already archived.
 */
export async function archiveEvidence(
  campaignId: string,
  completedAt: Date,
  services: Services,
): Promise<ArchiveReceipt | undefined> {
  const { archive, store } = services;
  if (!archive) return undefined;
  const existing = await store.signatures.archiveReceipt(campaignId);
  if (existing) return existing;
  const dir = await mkdtemp(join(tmpdir(), 'access-review-evidence-'));
  try {
    await exportEvidence(store, campaignId, dir, completedAt);
    const receipt = await archiveEvidenceFolder(archive, campaignId, dir, services.now());
    const recorded = await store.signatures.recordArchive(campaignId, receipt);
    services.progress(
      `Evidence for ${campaignId} archived to ${recorded.location} (${recorded.files} files, locked until ${recorded.retainUntil.slice(0, 10)}; manifest sha256 ${recorded.manifestSha256})`,
    );
    return recorded;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Each record names its event once it is in the chain. A record without one either lost its event
 * (a crash between the two writes: append it now, marked recovered) or lost only the link (a
 * crash after the append: link the event that is there, and write nothing twice).
 */
export async function recoverMissingEvents(records: CampaignRecords, services: Services): Promise<void> {
  const { store } = services;
  const { campaignId } = records.campaign;
  const existing = new Map<string, CampaignEvent>();
  for (const event of records.events) {
    const subject = event.data.grantId ?? event.data.reviewer;
    if (typeof subject === 'string') existing.set(`${event.type}:${subject}`, event);
  }
  const ensure = async (type: EventType, subject: string, data: Record<string, unknown>): Promise<number> => {
    const found = existing.get(`${type}:${subject}`);
    if (found) return found.seq;
    const event = await store.events.append(campaignId, type, { ...data, recovered: true }, services.now());
    existing.set(`${type}:${subject}`, event);
    records.events.push(event);
    return event.seq;
  };

  for (const decision of records.decisions) {
    if (decision.eventSeq !== undefined) continue;
    const seq = await ensure('decision_recorded', decision.grantId, {
      grantId: decision.grantId,
      decision: decision.decision,
      reviewer: decision.reviewer,
      decidedBySlackUserId: decision.decidedBySlackUserId,
      justification: decision.justification ?? null,
      // What the record carries, the event carries (decisions.csv is checked against the event).
      ...(decision.decidedBy ? { decidedBy: decision.decidedBy } : {}),
      ...(decision.downgradeTo ? { downgradeTo: decision.downgradeTo } : {}),
      ...(decision.bulk ? { bulk: true } : {}),
      ...(decision.channel === 'policy' ? { channel: 'policy' } : {}),
    });
    await store.decisions.linkEvent(campaignId, decision.grantId, seq);
  }
  for (const revocation of records.revocations) {
    if (revocation.eventSeq !== undefined || revocation.status === 'pending') continue;
    const type = revocationEventType(revocation.status);
    const seq = await ensure(type, revocation.grantId, revocationEventData(revocation));
    await store.outcomes.linkEvent('revocation', campaignId, revocation.grantId, seq);
  }
  for (const verification of records.verifications) {
    if (verification.eventSeq !== undefined) continue;
    const seq = await ensure('revocation_verified', verification.grantId, {
      grantId: verification.grantId,
      status: verification.status,
      paths: verification.paths,
      checkedAt: verification.checkedAt,
    });
    await store.outcomes.linkEvent('verification', campaignId, verification.grantId, seq);
  }
  // Task events have no link of their own: the task's state says which must exist.
  for (const task of records.tasks) {
    const { reviewer } = task;
    if (task.messageTs) {
      await ensure('review_requested', reviewer, {
        reviewer,
        slackUserId: task.slackUserId,
        grantCount: task.grantCount,
        dueAt: task.dueAt,
      });
    }
    if (task.status === 'completed') {
      await ensure('review_completed', reviewer, { reviewer, decided: task.decidedCount });
    }
    if (task.status === 'unresponsive') {
      await ensure('reviewer_unresponsive', reviewer, {
        reviewer,
        undecided: task.grantCount - task.decidedCount,
        decided: task.decidedCount,
      });
    }
  }
}
