import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';

/**
 * SES v2 on loopback for tests and the embedded host: aws-ses-v2-local (which stores what it is
 * sent and shows it at GET /store) behind a small front that does what aws-ses-v2-local does not
 * and real SES does, on the request the real @aws-sdk/client-sesv2 sends:
 *
 * - the From address must be a valid address under a verified identity (an address or a domain):
 *   otherwise 400 MessageRejected "Email address is not verified…", as SES answers;
 * - every recipient must be a valid address (400 BadRequestException otherwise);
 * - a configuration set must exist when named (404 NotFoundException);
 * - a test may make the next sends fail the way SES fails (TooManyRequestsException 429,
 *   SendingPausedException, …), with SES's wire format (`x-amzn-ErrorType`, JSON `message`), so
 *   the SDK raises the same exception class as against AWS.
 *
 * aws-ses-v2-local's store is global to the process; this front remembers the message ids it was
 * given, so `emails()` shows only its own mail and `clear()` forgets only its own. Nothing leaves
 * loopback: it refuses to start when SMTP_TRANSPORT is set (aws-ses-v2-local would relay mail to
 * that SMTP server). The embedded host (lib/local/host.ts) and the tests (test/support/local-ses.ts) use it.
 */

export interface LocalSesOptions {
  /** Identities that may send: addresses (access-review@acme.example) or domains (acme.example). */
  verifiedIdentities: readonly string[];
  /** Configuration sets that exist; absent: any name is accepted. */
  configurationSets?: readonly string[];
  /** Region the endpoint stands for (in SES's own messages). Default eu-west-1. */
  region?: string;
}

/** One email as aws-ses-v2-local stored it, with the tags from the request. */
export interface ReceivedEmail {
  messageId: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
  tags: Array<{ Name: string; Value: string }>;
  configurationSet: string | undefined;
}

/** What the client sent to the SendEmail operation, as JSON (for request-shape tests). */
export interface SendEmailRequest {
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export interface SesFault {
  /** The SES error name (`TooManyRequestsException`, `MessageRejected`, …). */
  name: string;
  status: number;
  message: string;
}

/** SES v2's faults as SES answers them (status codes from the SES v2 API reference). */
export const SES_FAULTS = {
  throttled: { name: 'TooManyRequestsException', status: 429, message: 'Maximum sending rate exceeded.' },
  dailyQuota: { name: 'LimitExceededException', status: 400, message: 'Daily message quota exceeded.' },
  paused: { name: 'SendingPausedException', status: 400, message: 'Sending is paused for this account.' },
  suspended: { name: 'AccountSuspendedException', status: 400, message: 'The account is suspended.' },
  unavailable: { name: 'InternalFailure', status: 500, message: 'We encountered an internal error.' },
  mailFrom: {
    name: 'MailFromDomainNotVerifiedException',
    status: 400,
    message: 'The MAIL FROM domain is not verified.',
  },
} as const satisfies Record<string, SesFault>;

export interface LocalSes {
  /** http://127.0.0.1:<port>: pass as `notifications.email.endpoint` (or the client's endpoint). */
  endpoint: string;
  /** For SESv2Client: the region, dummy credentials, one attempt (tests see the first answer). */
  clientConfig: {
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  /** The mail this endpoint accepted, oldest first. */
  emails(): Promise<ReceivedEmail[]>;
  /** Every SendEmail request it was sent, accepted or not. */
  requests(): SendEmailRequest[];
  /** The next `times` sends fail with `fault` (before anything is stored). */
  failNext(fault: SesFault, times?: number): void;
  /** Forgets this endpoint's mail and requests (not other endpoints' in the same process). */
  clear(): void;
  close(): Promise<void>;
}

type StartAwsSesV2Local = (options: { host: string; port: number }) => Promise<Server>;

/** aws-ses-v2-local's default export is nested once more under vitest than under Node. */
async function startBackend(): Promise<Server> {
  const module = (await import('aws-ses-v2-local')) as unknown as { default: unknown };
  const outer = module.default as { default?: unknown } | StartAwsSesV2Local;
  const start = (typeof outer === 'function' ? outer : outer.default) as StartAwsSesV2Local;
  return start({ host: '127.0.0.1', port: 0 });
}

const address = z.email();

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendError(response: ServerResponse, fault: SesFault): void {
  response.writeHead(fault.status, {
    'content-type': 'application/json',
    'x-amzn-ErrorType': fault.name,
    'x-amzn-RequestId': crypto.randomUUID(),
  });
  response.end(JSON.stringify({ message: fault.message }));
}

function identityOf(from: string): { address: string; domain: string } {
  // "Name <a@b>" is allowed by SES; the address is what is checked.
  const bracketed = /<([^>]*)>\s*$/.exec(from);
  const bare = (bracketed?.[1] ?? from).trim();
  return { address: bare.toLowerCase(), domain: bare.slice(bare.lastIndexOf('@') + 1).toLowerCase() };
}

export async function startLocalSes(options: LocalSesOptions): Promise<LocalSes> {
  if (process.env.SMTP_TRANSPORT?.trim()) {
    throw new Error(
      'SMTP_TRANSPORT is set: aws-ses-v2-local would relay every email to that SMTP server. Unset it to run locally.',
    );
  }
  const region = options.region ?? 'eu-west-1';
  const verified = new Set(options.verifiedIdentities.map((identity) => identity.toLowerCase()));
  const backend = await startBackend();
  const backendUrl = `http://127.0.0.1:${portOf(backend)}`;
  const mine = new Map<string, Array<{ Name: string; Value: string }>>();
  const configurationSets = new Map<string, string | undefined>();
  let requests: SendEmailRequest[] = [];
  const faults: SesFault[] = [];

  const refuse = (body: Record<string, unknown>): SesFault | undefined => {
    const fault = faults.shift();
    if (fault) return fault;
    const from = typeof body.FromEmailAddress === 'string' ? body.FromEmailAddress : '';
    const identity = identityOf(from);
    if (!address.safeParse(identity.address).success) {
      return { name: 'BadRequestException', status: 400, message: "Missing final '@domain'" };
    }
    if (!verified.has(identity.address) && !verified.has(identity.domain)) {
      return {
        name: 'MessageRejected',
        status: 400,
        message: `Email address is not verified. The following identities failed the check in region ${region.toUpperCase()}: ${from}`,
      };
    }
    const destination = (body.Destination ?? {}) as Record<string, unknown>;
    const recipients = ['ToAddresses', 'CcAddresses', 'BccAddresses'].flatMap((field) =>
      Array.isArray(destination[field]) ? (destination[field] as unknown[]) : [],
    );
    if (recipients.length === 0) {
      return { name: 'BadRequestException', status: 400, message: "Missing required header 'To'." };
    }
    if (recipients.some((to) => typeof to !== 'string' || !address.safeParse(to).success)) {
      return { name: 'BadRequestException', status: 400, message: 'Illegal address' };
    }
    const set = body.ConfigurationSetName;
    if (typeof set === 'string' && options.configurationSets && !options.configurationSets.includes(set)) {
      return {
        name: 'NotFoundException',
        status: 404,
        message: `Configuration set <${set}> does not exist.`,
      };
    }
    return undefined;
  };

  const front = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const isSend = request.method === 'POST' && request.url === '/v2/email/outbound-emails';
      let parsed: Record<string, unknown> = {};
      if (isSend) {
        try {
          parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        } catch {
          sendError(response, { name: 'BadRequestException', status: 400, message: 'Malformed JSON' });
          return;
        }
        requests.push({ body: parsed, headers: { ...request.headers } });
        if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256')) {
          sendError(response, {
            name: 'MissingAuthenticationToken',
            status: 403,
            message: 'Missing Authentication Token',
          });
          return;
        }
        const fault = refuse(parsed);
        if (fault) {
          sendError(response, fault);
          return;
        }
      }
      const forwarded = await fetch(`${backendUrl}${request.url ?? '/'}`, {
        method: request.method ?? 'GET',
        headers: Object.fromEntries(
          Object.entries(request.headers).flatMap(([name, value]) =>
            typeof value === 'string' && name !== 'host' && name !== 'content-length' ? [[name, value]] : [],
          ),
        ),
        ...(body.length > 0 ? { body } : {}),
      });
      const answer = Buffer.from(await forwarded.arrayBuffer());
      if (isSend && forwarded.ok) {
        const messageId = (JSON.parse(answer.toString('utf8')) as { MessageId?: string }).MessageId;
        if (messageId) {
          mine.set(messageId, Array.isArray(parsed.EmailTags) ? (parsed.EmailTags as never) : []);
          configurationSets.set(
            messageId,
            typeof parsed.ConfigurationSetName === 'string' ? parsed.ConfigurationSetName : undefined,
          );
        }
      }
      response.writeHead(forwarded.status, {
        'content-type': forwarded.headers.get('content-type') ?? 'application/json',
      });
      response.end(answer);
    })().catch((error: unknown) => {
      if (!response.headersSent) {
        sendError(response, { name: 'InternalFailure', status: 500, message: String(error) });
      } else response.destroy();
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${portOf(front)}`;

  return {
    endpoint,
    clientConfig: {
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    },
    async emails() {
      const stored = (await (await fetch(`${backendUrl}/store`)).json()) as {
        emails: Array<{
          messageId: string;
          from: string;
          destination: { to: string[]; cc: string[]; bcc: string[] };
          subject: string;
          body: { text?: string; html?: string };
        }>;
      };
      return stored.emails
        .filter((email) => mine.has(email.messageId))
        .map((email) => ({
          messageId: email.messageId,
          from: email.from,
          to: email.destination.to,
          cc: email.destination.cc,
          bcc: email.destination.bcc,
          subject: email.subject,
          text: email.body.text,
          html: email.body.html,
          tags: mine.get(email.messageId) ?? [],
          configurationSet: configurationSets.get(email.messageId),
        }));
    },
    requests: () => [...requests],
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    clear() {
      mine.clear();
      configurationSets.clear();
      requests = [];
      faults.length = 0;
    },
    async close() {
      await Promise.all(
        [front, backend].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections?.();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
