import { escapeHtml, formatCount } from './html';

/*
 * Decisions over time: the chain's decision_recorded events counted per time bucket, drawn as the
 * cumulative number of keep and revoke decisions. Counting happens while events.jsonl streams by,
 * in buckets that widen as needed, so a campaign of a million decisions keeps a few thousand
 * counters at most; the bucket drawn is then the narrowest that shows the whole campaign in at
 * most MAX_BUCKETS steps (seconds for the demo, hours or days for a real quarter).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface BucketUnit {
  ms: number;
  /** `hour`, `6 hours`: in the chart's caption and text alternative. */
  name: string;
}

const UNITS: readonly BucketUnit[] = [
  { ms: SECOND, name: 'second' },
  { ms: 10 * SECOND, name: '10 seconds' },
  { ms: MINUTE, name: 'minute' },
  { ms: 10 * MINUTE, name: '10 minutes' },
  { ms: HOUR, name: 'hour' },
  { ms: 6 * HOUR, name: '6 hours' },
  { ms: DAY, name: 'day' },
  { ms: 7 * DAY, name: 'week' },
];

/** Counters kept while streaming before the bucket widens (memory bound, not a drawing limit). */
const MAX_COUNTERS = 4096;
/** Steps drawn at most: enough to see the pace, few enough to read each point. */
export const MAX_BUCKETS = 96;

export interface Bucket {
  /** Start of the bucket, ms since the epoch (UTC). */
  start: number;
  keep: number;
  revoke: number;
  /** Cumulative counts at the end of the bucket. */
  keepTotal: number;
  revokeTotal: number;
}

export interface Timeline {
  unit: BucketUnit;
  buckets: Bucket[];
  /** decision_recorded events whose time or decision could not be read (drawn nowhere, counted). */
  unplaced: number;
}

export class DecisionTimeline {
  private unitIndex = 0;
  private counts = new Map<number, { keep: number; revoke: number }>();
  private unplaced = 0;

  add(at: unknown, decision: unknown): void {
    const time = typeof at === 'string' ? Date.parse(at) : Number.NaN;
    if (!Number.isFinite(time) || (decision !== 'keep' && decision !== 'revoke')) {
      this.unplaced += 1;
      return;
    }
    const unit = this.unit().ms;
    const start = Math.floor(time / unit) * unit;
    let counter = this.counts.get(start);
    if (!counter) {
      counter = { keep: 0, revoke: 0 };
      this.counts.set(start, counter);
    }
    counter[decision] += 1;
    while (this.counts.size > MAX_COUNTERS && this.unitIndex < UNITS.length - 1)
      this.widen(this.unitIndex + 1);
  }

  build(): Timeline {
    if (this.counts.size === 0) return { unit: this.unit(), buckets: [], unplaced: this.unplaced };
    for (;;) {
      const [first, last] = this.range();
      const steps = Math.floor((last - first) / this.unit().ms) + 1;
      if (steps <= MAX_BUCKETS || this.unitIndex === UNITS.length - 1) break;
      this.widen(this.unitIndex + 1);
    }
    const [first, last] = this.range();
    const unit = this.unit();
    const buckets: Bucket[] = [];
    let keepTotal = 0;
    let revokeTotal = 0;
    // Every step from the first decision to the last, empty ones included, so time runs evenly.
    for (let start = first; start <= last; start += unit.ms) {
      const counter = this.counts.get(start) ?? { keep: 0, revoke: 0 };
      keepTotal += counter.keep;
      revokeTotal += counter.revoke;
      buckets.push({ start, keep: counter.keep, revoke: counter.revoke, keepTotal, revokeTotal });
    }
    return { unit, buckets, unplaced: this.unplaced };
  }

  private unit(): BucketUnit {
    return UNITS[this.unitIndex] as BucketUnit;
  }

  private range(): [number, number] {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const start of this.counts.keys()) {
      if (start < first) first = start;
      if (start > last) last = start;
    }
    return [first, last];
  }

  private widen(index: number): void {
    this.unitIndex = index;
    const unit = this.unit().ms;
    const wider = new Map<number, { keep: number; revoke: number }>();
    for (const [start, counter] of this.counts) {
      const at = Math.floor(start / unit) * unit;
      const into = wider.get(at) ?? { keep: 0, revoke: 0 };
      into.keep += counter.keep;
      into.revoke += counter.revoke;
      wider.set(at, into);
    }
    this.counts = wider;
  }
}

/** `2026-12-02 04:32:41` / `2026-12-02 04:00` / `2026-12-02`, as fine as the bucket. */
export function bucketLabel(start: number, unit: BucketUnit): string {
  const iso = new Date(start).toISOString();
  if (unit.ms < MINUTE) return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  if (unit.ms < DAY) return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
  return iso.slice(0, 10);
}

/** The y axis: a round step (1, 2 or 5 times a power of ten) and as many steps as reach `max`. */
function axis(max: number): { top: number; step: number } {
  const raw = Math.max(max, 1) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = magnitude;
  for (const factor of [1, 2, 5, 10]) {
    step = Math.max(1, factor * magnitude);
    if (step >= raw) break;
  }
  return { top: step * Math.max(1, Math.ceil(max / step)), step };
}

const WIDTH = 960;
const HEIGHT = 280;
const PAD = { left: 56, right: 20, top: 16, bottom: 44 };

/** Coordinates rounded to a tenth: the same input always gives the same bytes. */
function n(value: number): string {
  return (Math.round(value * 10) / 10).toFixed(1).replace(/\.0$/, '');
}

/**
 * The chart as inline SVG (no script, no external resource), with a title and a description that
 * says in words what it shows. Each bucket is one point per series (`circle.keep`, `circle.revoke`).
 */
export function renderChart(timeline: Timeline, idPrefix: string): string {
  const { buckets, unit } = timeline;
  const last = buckets[buckets.length - 1];
  if (!last) return '';
  const { top, step: tickStep } = axis(Math.max(last.keepTotal, last.revokeTotal));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (buckets.length === 1 ? plotW / 2 : (plotW * i) / (buckets.length - 1));
  const y = (v: number) => PAD.top + plotH - (plotH * v) / top;
  const first = buckets[0] as Bucket;
  const titleId = `${idPrefix}-title`;
  const descId = `${idPrefix}-desc`;
  const total = last.keepTotal + last.revokeTotal;
  const busiest = buckets.reduce((a, b) => (b.keep + b.revoke > a.keep + a.revoke ? b : a), first);
  const desc =
    `Cumulative decisions recorded in the event chain, per ${unit.name}, from ${bucketLabel(first.start, unit)} ` +
    `to ${bucketLabel(last.start, unit)} UTC: ${formatCount(total)} decisions, ${formatCount(last.keepTotal)} keep ` +
    `and ${formatCount(last.revokeTotal)} revoke. The busiest ${unit.name} began ${bucketLabel(busiest.start, unit)} ` +
    `UTC with ${formatCount(busiest.keep + busiest.revoke)} decisions.`;

  const parts: string[] = [];
  parts.push(
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${titleId} ${descId}" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="${titleId}">Decisions over time (cumulative, per ${escapeHtml(unit.name)})</title>`,
    `<desc id="${descId}">${escapeHtml(desc)}</desc>`,
  );
  // Grid and y axis: a line per step, 0 to top.
  parts.push('<g class="grid">');
  for (let value = 0; value <= top; value += tickStep) {
    const at = n(y(value));
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${at}" y2="${at}"/>`,
      `<text class="tick" x="${PAD.left - 8}" y="${at}" text-anchor="end" dominant-baseline="middle">${formatCount(value)}</text>`,
    );
  }
  parts.push('</g>');
  // x axis: the first and last bucket, and up to three between.
  const labelled = new Set<number>([0, buckets.length - 1]);
  if (buckets.length > 4)
    for (const f of [0.25, 0.5, 0.75]) labelled.add(Math.round((buckets.length - 1) * f));
  parts.push('<g class="axis">');
  for (const i of [...labelled].sort((a, b) => a - b)) {
    const bucket = buckets[i] as Bucket;
    const anchor =
      buckets.length === 1 ? 'middle' : i === 0 ? 'start' : i === buckets.length - 1 ? 'end' : 'middle';
    // The date once, on the first label, unless the campaign crosses midnight (UTC).
    const label = bucketLabel(bucket.start, unit);
    const sameDay =
      i > 0 && label.slice(0, 10) === bucketLabel(first.start, unit).slice(0, 10) && label.length > 10;
    parts.push(
      `<text class="tick" x="${n(x(i))}" y="${HEIGHT - PAD.bottom + 20}" text-anchor="${anchor}">${escapeHtml(sameDay ? label.slice(11) : label)}</text>`,
    );
  }
  parts.push(
    `<line class="baseline" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${n(y(0))}" y2="${n(y(0))}"/>`,
    '</g>',
  );
  for (const series of ['keep', 'revoke'] as const) {
    const value = (b: Bucket) => (series === 'keep' ? b.keepTotal : b.revokeTotal);
    const points = buckets.map((b, i) => `${n(x(i))},${n(y(value(b)))}`).join(' ');
    parts.push(`<g class="series ${series}">`);
    if (buckets.length > 1) parts.push(`<polyline points="${points}"/>`);
    buckets.forEach((b, i) => {
      parts.push(
        `<circle class="${series}" cx="${n(x(i))}" cy="${n(y(value(b)))}" r="3"><title>${escapeHtml(
          `${bucketLabel(b.start, unit)} UTC: ${formatCount(value(b))} ${series} so far (${formatCount(series === 'keep' ? b.keep : b.revoke)} in this ${unit.name})`,
        )}</title></circle>`,
      );
    });
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}
