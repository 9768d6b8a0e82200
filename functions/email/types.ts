/** What an email is for; the evidence counts emails by purpose (never by address). */
export type EmailPurpose = 'review_task' | 'reminder' | 'summary' | 'needs_attention' | 'failure';

export interface OutgoingEmail {
  purpose: EmailPurpose;
  to: readonly string[];
  subject: string;
  text: string;
  html: string;
}

/** Sends one email (SES v2 on AWS, aws-ses-v2-local on the embedded host and in tests). */
export interface EmailSender {
  /** The provider's message id. */
  send(email: OutgoingEmail): Promise<{ messageId: string | undefined }>;
}
