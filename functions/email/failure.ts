import { type FailureNotice, failureNoticeText, failureNoticeTitle } from '../slack/failure-notice';
import { renderEmail } from './render';

/**
 * The failure notice as an email: the text part is the notice's text as Slack's fallback shows it;
 * the HTML part lays the same lines out as label and value (Why, Pending, Resume, Campaign, …).
 */
export function failureNoticeEmail(notice: FailureNotice): { subject: string; text: string; html: string } {
  const title = `access-review: ${failureNoticeTitle(notice)}`;
  const text = failureNoticeText(notice);
  const rows = text
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line): [string, string] => {
      const colon = line.indexOf(': ');
      return colon < 0 ? ['', line] : [line.slice(0, colon), line.slice(colon + 2)];
    });
  const rendered = renderEmail({
    title,
    blocks: [{ kind: 'facts', rows }],
    footer:
      'Sent by access-review because a campaign execution stopped without finishing. The failure topic (SNS) and the CloudWatch alarm carry the same event.',
  });
  return { subject: title, text, html: rendered.html };
}
