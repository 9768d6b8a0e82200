import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import { configSha256Of } from '../../../functions/runtime/config-file';
import { campaignIdFor, startCampaign } from '../../../functions/steps/start-campaign';
import type { Store } from '../../../functions/store/index';
import { TEST_CONFIG, testServices } from '../../support/local-store';

/**
 * The campaign id's quarter is the one on the calendar of the schedule's time zone
 * (config `schedule.timezone`), not UTC's.
 */

const suffix = /-[0-9a-f]{8}$/;
const label = (id: string) => id.replace(suffix, '');

describe('campaignIdFor', () => {
  it('the scheduled run at 09:00 on 1 January in Sydney is Q1 of the new year (UTC still says Q4)', () => {
    const nineInSydney = new Date('2026-12-31T22:00:00Z'); // 2027-01-01 09:00 AEDT (UTC+11)
    expect(label(campaignIdFor('run', nineInSydney, 'Australia/Sydney'))).toBe('2027-Q1');
    expect(label(campaignIdFor('run', nineInSydney, 'UTC'))).toBe('2026-Q4');
    expect(label(campaignIdFor('run', nineInSydney))).toBe('2026-Q4');
  });

  it.each([
    // Both sides of Sydney's midnight on New Year's Eve.
    ['2026-12-31T12:59:59.999Z', 'Australia/Sydney', '2026-Q4'],
    ['2026-12-31T13:00:00.000Z', 'Australia/Sydney', '2027-Q1'],
    // Both sides of Los Angeles's midnight (UTC-8): already 2027 in UTC, still 2026 there.
    ['2027-01-01T07:59:59.999Z', 'America/Los_Angeles', '2026-Q4'],
    ['2027-01-01T08:00:00.000Z', 'America/Los_Angeles', '2027-Q1'],
    // A quarter boundary inside the year, with daylight saving time in force (Madrid, UTC+2).
    ['2026-06-30T21:59:59.999Z', 'Europe/Madrid', '2026-Q2'],
    ['2026-06-30T22:00:00.000Z', 'Europe/Madrid', '2026-Q3'],
  ])('%s in %s is %s', (instant, timeZone, expected) => {
    expect(label(campaignIdFor('run', new Date(instant), timeZone))).toBe(expected);
  });

  it('agrees with the UTC calendar shifted by the offset, for every fixed-offset zone (property)', () => {
    // Etc/GMT-10 is UTC+10 (POSIX signs are inverted): an oracle independent of Intl's zone data.
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1990-01-01T00:00:00Z'),
          max: new Date('2090-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: -12, max: 14 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (at, offsetHours, executionName) => {
          const zone =
            offsetHours === 0 ? 'Etc/GMT' : `Etc/GMT${offsetHours > 0 ? '-' : '+'}${Math.abs(offsetHours)}`;
          const shifted = new Date(at.getTime() + offsetHours * 3_600_000);
          const expected = `${shifted.getUTCFullYear()}-Q${Math.floor(shifted.getUTCMonth() / 3) + 1}`;
          const id = campaignIdFor(executionName, at, zone);
          expect(label(id)).toBe(expected);
          // The suffix depends on the execution only: a retried StartCampaign finds the same campaign.
          expect(id.slice(-8)).toBe(campaignIdFor(executionName, new Date(0)).slice(-8));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('startCampaign', () => {
  it("labels the campaign in the schedule's time zone and records the configuration's hash", async () => {
    // Only the two calls StartCampaign makes, recorded (the table itself is covered by the store's
    // tests; a dynalite table would cost a stack synth here).
    const appended: Array<{ type: string; data: Record<string, unknown> }> = [];
    const store = {
      campaigns: { create: async (campaign: Record<string, unknown>) => ({ campaign, created: true }) },
      events: {
        appendOnce: async (_campaignId: string, type: string, data: Record<string, unknown>) => {
          appended.push({ type, data });
        },
      },
    } as unknown as Store;
    const config = parseConfig({
      ...JSON.parse(JSON.stringify(TEST_CONFIG)),
      schedule: { timezone: 'Australia/Sydney' },
    });
    const sha256 = configSha256Of(config);
    const { campaignId } = await startCampaign(
      { executionName: 'quarterly-2027-01-01', trigger: 'schedule' },
      testServices(store, { config, configSha256: sha256, now: () => new Date('2026-12-31T22:00:00Z') }),
    );
    expect(campaignId).toMatch(/^2027-Q1-[0-9a-f]{8}$/);
    expect(appended).toEqual([
      {
        type: 'campaign_started',
        data: expect.objectContaining({ configSha256: sha256, trigger: 'schedule' }),
      },
    ]);
    // Without a hash (a host that has none), the event simply has no such field.
    appended.length = 0;
    await startCampaign({ executionName: 'x' }, testServices(store, { config }));
    expect(appended[0]!.data).not.toHaveProperty('configSha256');
  });
});
