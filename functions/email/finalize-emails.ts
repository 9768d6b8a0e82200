import { classifyError, RETRYABLE_KINDS } from '../core/errors';
import type { CampaignRecords, CampaignSummary } from '../evidence/summary';
import type { Services } from '../runtime/services';
import { campaignEmailFacts, needsAttentionEmail, summaryEmail } from './campaign-emails';
import { type EmailOutcome, sendOnce } from './once';

export interface CampaignEmailOutcomes {
  summary: EmailOutcome | 'failed' | 'off';
  needsAttention: EmailOutcome | 'failed' | 'off' | 'nothing_to_say';
}

/**
 * Finalize's emails to the security team (`notifications.email.to`), when `notifications.email`
 * is configured and `summary` is not false: the campaign summary, and "needs attention" when
 * anything needs a person. Each is sent once per campaign (functions/email/once.ts).
 *
 * An SES fault that may pass (throttling, the daily quota, a 5xx, a timeout) is thrown: the
 * workflow retries Finalize, which sends only what is still missing. A refusal that a retry cannot
 * change (an unverified identity, a rejected message, sending paused) is logged as an error and
 * Finalize goes on: the campaign closes and its evidence is archived without that email, and the
 * chain has no `email_sent` for it.
 *
 * Returns whether an `email_sent` event may have been appended (the caller re-reads the chain).
 */
export async function sendCampaignEmails(
  records: CampaignRecords,
  summary: CampaignSummary,
  services: Services,
): Promise<boolean> {
  const outcomes = await sendCampaignEmailsWithOutcomes(records, summary, services);
  return outcomes.summary !== 'off';
}

export async function sendCampaignEmailsWithOutcomes(
  records: CampaignRecords,
  summary: CampaignSummary,
  services: Services,
): Promise<CampaignEmailOutcomes> {
  const configured = services.config.notifications?.email;
  if (!configured?.summary) return { summary: 'off', needsAttention: 'off' };
  const { campaignId } = records.campaign;
  if (!services.email) {
    services.log.warn('notifications.email is configured but this host has no email sender', { campaignId });
    return { summary: 'not_configured', needsAttention: 'not_configured' };
  }
  const facts = campaignEmailFacts(records, summary, services.now().toISOString());
  const to = configured.to;
  const attempt = async (
    purpose: 'summary' | 'needs_attention',
    rendered: { subject: string; text: string; html: string },
  ): Promise<EmailOutcome | 'failed'> => {
    try {
      return await sendOnce(services, { campaignId, purpose }, () => ({ purpose, to, ...rendered }));
    } catch (error) {
      if (RETRYABLE_KINDS.includes(classifyError(error))) throw error;
      services.log.error('campaign email not sent; the campaign closes without it', {
        campaignId,
        purpose,
        error: error instanceof Error ? error.name : 'unknown',
        message: error instanceof Error ? error.message : String(error),
      });
      services.progress(
        `⚠ The ${purpose.replace('_', ' ')} email of ${campaignId} was not sent: ${error instanceof Error ? error.message : String(error)}`,
      );
      return 'failed';
    }
  };
  const summaryOutcome = await attempt('summary', summaryEmail(facts));
  const attention = needsAttentionEmail(facts);
  const attentionOutcome = attention ? await attempt('needs_attention', attention) : 'nothing_to_say';
  if (summaryOutcome === 'sent' || attentionOutcome === 'sent') {
    services.progress(
      `Emailed the campaign summary${attentionOutcome === 'sent' ? ' and what needs attention' : ''} to the security team`,
    );
  }
  return { summary: summaryOutcome, needsAttention: attentionOutcome };
}
