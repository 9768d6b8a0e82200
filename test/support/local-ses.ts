/** SES v2 on loopback for tests: lib/local/ses.ts, which the embedded host uses too. */
export {
  type LocalSes,
  type LocalSesOptions,
  type ReceivedEmail,
  SES_FAULTS,
  type SendEmailRequest,
  type SesFault,
  startLocalSes,
} from '../../lib/local/ses';
