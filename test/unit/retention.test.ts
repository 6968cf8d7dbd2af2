import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../src/errors.js';
import {
  describeRetention,
  parseRetention,
  planRetention,
  type BackupEntry,
  type RetentionPolicy,
} from '../../src/backup/retention.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A backup made at `when` (an ISO instant); its key names the instant so failures read well. */
const backup = (when: string): BackupEntry => ({ key: `pg/nightly-${when}`, createdAt: new Date(when) });
/** One backup per day at 02:00 UTC, `count` days ending (inclusive) on `last`, newest first. */
const dailyAt2 = (last: string, count: number): BackupEntry[] =>
  Array.from({ length: count }, (_, i) =>
    backup(new Date(Date.parse(`${last}T02:00:00.000Z`) - i * DAY).toISOString().replace('.000Z', 'Z')),
  );
/** The 02:00 UTC instants of the given calendar days. */
const at2 = (...days: string[]) => days.map((d) => `${d}T02:00:00Z`);
const keysOf = (entries: BackupEntry[]) => entries.map((e) => e.key);
const whenOf = (entries: BackupEntry[]) => entries.map((e) => e.key.replace('pg/nightly-', ''));

const NOW = new Date('2026-11-21T03:00:00Z');
const TODAY = backup('2026-11-21T02:00:00Z');

describe('planRetention: the 60-day acceptance case', () => {
  // 2026-09-23 .. 2026-11-21 at 02:00 UTC: 8 days of September, 31 of October, 21 of November.
  const entries = dailyAt2('2026-11-21', 60);
  const plan = planRetention(entries, parseRetention('retention', 'daily=7,weekly=4,monthly=3')!, {
    now: NOW,
    current: TODAY.key,
  });

  // Worked out by hand with a calendar (2026-11-21 is a Saturday; ISO weeks run Monday to Sunday):
  // daily=7    the 7 newest days: Nov 21, 20, 19, 18, 17, 16, 15
  // weekly=4   newest backup of W47 (Nov 16-22) = Nov 21, W46 (Nov 9-15) = Nov 15 (Sunday),
  //            W45 (Nov 2-8) = Nov 8, W44 (Oct 26-Nov 1) = Nov 1
  // monthly=3  newest of November = Nov 21, October = Oct 31, September = Sep 30
  // union      11 backups; the other 49 go.
  const expectedKept = at2(
    '2026-11-21',
    '2026-11-20',
    '2026-11-19',
    '2026-11-18',
    '2026-11-17',
    '2026-11-16',
    '2026-11-15',
    '2026-11-08',
    '2026-11-01',
    '2026-10-31',
    '2026-09-30',
  );

  it('builds the fixture it means to', () => {
    expect(entries).toHaveLength(60);
    expect(whenOf(entries).slice(0, 1)).toEqual(['2026-11-21T02:00:00Z']);
    expect(whenOf(entries).slice(-1)).toEqual(['2026-09-23T02:00:00Z']);
  });

  it('keeps exactly the hand-computed set, newest first', () => {
    expect(whenOf(plan.keep)).toEqual(expectedKept);
  });

  it('deletes exactly the rest, newest first', () => {
    const rest = whenOf(entries).filter((w) => !expectedKept.includes(w));
    expect(rest).toHaveLength(49);
    expect(whenOf(plan.delete)).toEqual(rest);
  });

  it.each([
    ['2026-11-21', 'current, daily 2026-11-21, weekly 2026-W47, monthly 2026-11'],
    ['2026-11-20', 'daily 2026-11-20'],
    ['2026-11-15', 'daily 2026-11-15, weekly 2026-W46'],
    ['2026-11-08', 'weekly 2026-W45'],
    ['2026-11-01', 'weekly 2026-W44'],
    ['2026-10-31', 'monthly 2026-10'],
    ['2026-09-30', 'monthly 2026-09'],
  ])('says why %s is kept: %s', (day, reason) => {
    expect(plan.reasons.get(`pg/nightly-${day}T02:00:00Z`)).toBe(reason);
  });

  it('gives a reason for every kept backup and none for a deleted one', () => {
    expect([...plan.reasons.keys()].sort()).toEqual(keysOf(plan.keep).sort());
  });
});

interface PlanCase {
  entries: BackupEntry[];
  policy: RetentionPolicy;
  current: string;
  now?: Date;
  kept: string[];
}

const five = dailyAt2('2026-11-21', 5);
const forty = dailyAt2('2026-11-21', 40);
const sixty = dailyAt2('2026-11-21', 60);
const sameTime = '2026-11-20T02:00:00Z';

const planCases: [string, PlanCase][] = [
  [
    'keep-last=3 of 5 keeps the 3 newest',
    { entries: five, policy: { keepLast: 3 }, current: TODAY.key, kept: at2('2026-11-21', '2026-11-20', '2026-11-19') },
  ],
  [
    'keep-last=10 of 5 keeps all 5',
    { entries: five, policy: { keepLast: 10 }, current: TODAY.key, kept: whenOf(five) },
  ],
  [
    'keep-last=1 keeps only the newest',
    { entries: five, policy: { keepLast: 1 }, current: TODAY.key, kept: at2('2026-11-21') },
  ],
  [
    'max-age=30d keeps the 30 days after now-30d (Oct 22 02:00 is an hour too old)',
    {
      entries: forty,
      policy: { maxAgeMs: 30 * DAY },
      current: TODAY.key,
      kept: whenOf(dailyAt2('2026-11-21', 30)),
    },
  ],
  [
    'max-age keeps a backup exactly at the cutoff and deletes one a millisecond older',
    {
      entries: [TODAY, backup('2026-11-20T03:00:00.000Z'), backup('2026-11-20T02:59:59.999Z')],
      policy: { maxAgeMs: DAY },
      current: TODAY.key,
      kept: ['2026-11-21T02:00:00Z', '2026-11-20T03:00:00.000Z'],
    },
  ],
  [
    'keep-last=3 with max-age=2d: max-age caps what keep-last keeps',
    {
      entries: five,
      policy: { keepLast: 3, maxAgeMs: 2 * DAY },
      current: TODAY.key,
      kept: at2('2026-11-21', '2026-11-20'),
    },
  ],
  [
    'keep-last=2 with max-age=30d: keep-last limits what max-age allows',
    {
      entries: forty,
      policy: { keepLast: 2, maxAgeMs: 30 * DAY },
      current: TODAY.key,
      kept: at2('2026-11-21', '2026-11-20'),
    },
  ],
  [
    'monthly=3 with max-age=30d: Sep 30 is kept by monthly but too old',
    {
      entries: sixty,
      policy: { monthly: 3, maxAgeMs: 30 * DAY },
      current: TODAY.key,
      kept: at2('2026-11-21', '2026-10-31'),
    },
  ],
  [
    'keep-last=2 and monthly=2 combine: kept if either keeps it',
    {
      entries: forty,
      policy: { keepLast: 2, monthly: 2 },
      current: TODAY.key,
      kept: at2('2026-11-21', '2026-11-20', '2026-10-31'),
    },
  ],
  [
    'the current backup is kept when max-age says every backup is too old',
    {
      entries: [backup('2026-10-01T02:00:00Z'), backup('2026-09-01T02:00:00Z')],
      policy: { maxAgeMs: 7 * DAY },
      current: 'pg/nightly-2026-10-01T02:00:00Z',
      kept: ['2026-10-01T02:00:00Z'],
    },
  ],
  [
    'the current backup is kept when keep-last and max-age both say no',
    {
      entries: [backup('2026-11-21T02:00:00Z'), backup('2026-11-20T02:00:00Z'), backup('2026-01-01T02:00:00Z')],
      policy: { keepLast: 1, maxAgeMs: 7 * DAY },
      current: 'pg/nightly-2026-01-01T02:00:00Z',
      kept: ['2026-11-21T02:00:00Z', '2026-01-01T02:00:00Z'],
    },
  ],
  [
    'several backups a day: daily keeps the newest of each day',
    {
      entries: [
        backup('2026-11-21T01:00:00Z'),
        backup('2026-11-21T23:59:00Z'),
        backup('2026-11-21T09:00:00Z'),
        backup('2026-11-20T05:00:00Z'),
        backup('2026-11-20T22:00:00Z'),
        backup('2026-11-19T12:00:00Z'),
      ],
      policy: { daily: 2 },
      current: 'pg/nightly-2026-11-21T23:59:00Z',
      now: new Date('2026-11-22T00:00:00Z'),
      kept: ['2026-11-21T23:59:00Z', '2026-11-20T22:00:00Z'],
    },
  ],
  [
    'days are UTC calendar days: 23:30Z and 00:30Z the next day are two days',
    {
      entries: [backup('2026-11-21T00:30:00Z'), backup('2026-11-20T23:30:00Z'), backup('2026-11-20T10:00:00Z')],
      policy: { daily: 2 },
      current: 'pg/nightly-2026-11-21T00:30:00Z',
      kept: ['2026-11-21T00:30:00Z', '2026-11-20T23:30:00Z'],
    },
  ],
  [
    'daily counts days that have backups, skipping gaps',
    {
      entries: [TODAY, backup('2026-11-10T02:00:00Z'), backup('2026-11-01T02:00:00Z'), backup('2026-10-01T02:00:00Z')],
      policy: { daily: 3 },
      current: TODAY.key,
      kept: at2('2026-11-21', '2026-11-10', '2026-11-01'),
    },
  ],
  [
    'entries out of order in the input give the same plan, newest first',
    {
      entries: [five[3]!, five[0]!, five[4]!, five[1]!, five[2]!],
      policy: { keepLast: 2 },
      current: TODAY.key,
      kept: at2('2026-11-21', '2026-11-20'),
    },
  ],
  [
    'weekly uses ISO weeks across the new year: Dec 31 2026 and Jan 2 2027 are both 2026-W53',
    {
      entries: [
        backup('2027-01-04T02:00:00Z'),
        backup('2027-01-02T02:00:00Z'),
        backup('2026-12-31T02:00:00Z'),
        backup('2026-12-27T02:00:00Z'),
      ],
      policy: { weekly: 2 },
      current: 'pg/nightly-2027-01-04T02:00:00Z',
      now: new Date('2027-01-04T03:00:00Z'),
      kept: ['2027-01-04T02:00:00Z', '2027-01-02T02:00:00Z'],
    },
  ],
  [
    'monthly=2 and yearly=2 keep the newest of each month and year',
    {
      entries: [
        TODAY,
        backup('2026-01-01T02:00:00Z'),
        backup('2025-12-31T02:00:00Z'),
        backup('2025-06-01T02:00:00Z'),
        backup('2024-12-31T02:00:00Z'),
      ],
      policy: { monthly: 2, yearly: 2 },
      current: TODAY.key,
      kept: ['2026-11-21T02:00:00Z', '2026-01-01T02:00:00Z', '2025-12-31T02:00:00Z'],
    },
  ],
  ['an empty policy deletes nothing', { entries: five, policy: {}, current: TODAY.key, kept: whenOf(five) }],
  [
    'an empty list gives an empty plan',
    { entries: [], policy: { keepLast: 1, maxAgeMs: DAY }, current: TODAY.key, kept: [] },
  ],
];

describe('planRetention', () => {
  it.each(planCases)('%s', (_name, { entries, policy, current, now = NOW, kept }) => {
    const input = [...entries];
    const plan = planRetention(input, policy, { now, current });

    expect(whenOf(plan.keep)).toEqual(kept);
    const rest = [...entries]
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .filter((e) => !kept.includes(whenOf([e])[0]!));
    expect(keysOf(plan.delete)).toEqual(keysOf(rest));
    if (entries.length > 0) {
      expect(keysOf(plan.keep)).toContain(current);
      expect(plan.reasons.get(current)).toMatch(/^current/);
    }
    expect(keysOf(plan.delete)).not.toContain(current);
    expect(input).toEqual(entries); // the caller's array is not reordered
  });

  it('orders backups with the same createdAt by key, the greater key counting as newer', () => {
    const a = { key: 'pg/a', createdAt: new Date(sameTime) };
    const b = { key: 'pg/b', createdAt: new Date(sameTime) };
    const c = { key: 'pg/c', createdAt: new Date(sameTime) };
    for (const entries of [
      [a, b, c],
      [c, a, b],
      [b, c, a],
    ]) {
      const plan = planRetention(entries, { keepLast: 2 }, { now: NOW, current: 'pg/a' });
      expect(keysOf(plan.keep)).toEqual(['pg/c', 'pg/b', 'pg/a']);
      expect(planRetention(entries, { daily: 1 }, { now: NOW, current: 'pg/a' }).reasons.get('pg/c')).toBe(
        'daily 2026-11-20',
      );
    }
  });

  it.each([
    [{ keepLast: 2 }, 'pg/nightly-2026-11-20T02:00:00Z', 'keep-last 2'],
    [{ keepLast: 2, daily: 2 }, 'pg/nightly-2026-11-20T02:00:00Z', 'keep-last 2, daily 2026-11-20'],
    [{ maxAgeMs: 30 * DAY }, 'pg/nightly-2026-11-20T02:00:00Z', 'within max-age 30d'],
    [{}, 'pg/nightly-2026-11-17T02:00:00Z', 'no retention rule'],
    [{ keepLast: 1 }, TODAY.key, 'current, keep-last 1'],
  ] as [RetentionPolicy, string, string][])('with %j says %s is kept for %p', (policy, key, reason) => {
    expect(planRetention(five, policy, { now: NOW, current: TODAY.key }).reasons.get(key)).toBe(reason);
  });

  it.each([
    ['the current backup is not listed', five.slice(1), {}, /'pg\/nightly-2026-11-21T02:00:00Z' is not among/],
    ['a key is listed twice', [...five, five[2]!], {}, /listed twice/],
    ['a date is invalid', [...five, { key: 'pg/x', createdAt: new Date('nope') }], {}, /'pg\/x' has no valid date/],
    ['keepLast is 0', five, { keepLast: 0 }, /keepLast must be a whole number/],
    ['daily is fractional', five, { daily: 1.5 }, /daily must be a whole number/],
    ['maxAgeMs is negative', five, { maxAgeMs: -1 }, /maxAgeMs must be a positive/],
  ] as [string, BackupEntry[], RetentionPolicy, RegExp][])(
    'refuses to plan when %s',
    (_why, entries, policy, message) => {
      expect(() => planRetention(entries, policy, { now: NOW, current: TODAY.key })).toThrow(message);
    },
  );
});

describe('parseRetention', () => {
  it.each([
    ['keep-last=5', { keepLast: 5 }],
    ['max-age=30d', { maxAgeMs: 30 * DAY }],
    ['max-age=1h', { maxAgeMs: HOUR }],
    ['daily=7,weekly=4,monthly=12', { daily: 7, weekly: 4, monthly: 12 }],
    ['daily=7, weekly=4', { daily: 7, weekly: 4 }],
    ['  daily = 7 ,\tweekly=4 , ', { daily: 7, weekly: 4 }],
    ['daily=7\nweekly=4\nmonthly=12\n', { daily: 7, weekly: 4, monthly: 12 }],
    ['yearly=3', { yearly: 3 }],
    ['keep-last=3,max-age=90d', { keepLast: 3, maxAgeMs: 90 * DAY }],
    ['Daily=7,MONTHLY=2', { daily: 7, monthly: 2 }],
    [
      'keep-last=3, daily=7, weekly=4, monthly=12, yearly=5, max-age=1d12h',
      { keepLast: 3, daily: 7, weekly: 4, monthly: 12, yearly: 5, maxAgeMs: 36 * HOUR },
    ],
  ])('reads %p', (raw, policy) => {
    expect(parseRetention('retention', raw)).toEqual(policy);
  });

  it.each(['', '   ', 'off', 'OFF', 'none', ' None '])('reads %p as no retention', (raw) => {
    expect(parseRetention('retention', raw)).toBeUndefined();
  });

  it('names the input and what is accepted', () => {
    expect(() => parseRetention('retention', 'keep=3')).toThrow(
      "input 'retention': expected keep-last=N, max-age=30d or daily=7,weekly=4,monthly=12, got 'keep=3'",
    );
  });

  it.each([
    ['keep=3', /unknown key 'keep'; keys are keep-last, max-age, daily, weekly, monthly, yearly/],
    ['daily=7,hourly=24', /unknown key 'hourly'/],
    ['=7', /unknown key ''/],
    ['daily', /'daily' is not key=value/],
    ['7', /'7' is not key=value/],
    ['off,daily=7', /'off' is not key=value/],
    ['daily=', /daily has no value/],
    ['daily=0', /daily=0 keeps nothing/],
    ['daily=0,weekly=0,monthly=0', /daily=0 keeps nothing/],
    ['keep-last=0', /keep-last=0 keeps nothing/],
    ['keep-last=-1', /keep-last=-1 keeps nothing/],
    ['weekly=2.5', /a whole number from 1 to 100000, got '2.5' \(in 'weekly=2.5'\)/],
    ['monthly=many', /a whole number from 1 to 100000, got 'many'/],
    ['keep-last=N', /a whole number from 1 to 100000, got 'N'/],
    ['daily=7 weekly=4', /got '7 weekly=4' \(in 'daily=7 weekly=4'\)/],
    ['daily=1000000', /from 1 to 100000/],
    ['daily=7,daily=3', /daily is given more than once/],
    ['Daily=7,daily=3', /daily is given more than once/],
    ['max-age=30', /expected a duration like 30s.*got '30' \(in 'max-age=30'\)/],
    ['max-age=1month', /expected a duration like 30s/],
    ['max-age=-30d', /expected a duration like 30s/],
    ['max-age=0d', /max-age must be at least 1h, got '0d'/],
    ['max-age=30m', /max-age must be at least 1h, got '30m'; m means minutes/],
    [',', /no rule given; use off for no retention/],
  ])('rejects %p naming the input', (raw, detail) => {
    let error: unknown;
    try {
      parseRetention('retention', raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^input 'retention': expected /);
    expect((error as Error).message).toMatch(detail);
  });
});

describe('describeRetention', () => {
  it.each([
    [{ daily: 7, weekly: 4, monthly: 3 }, 'daily=7, weekly=4, monthly=3'],
    [{ keepLast: 3, maxAgeMs: 90 * DAY }, 'keep-last=3, max-age=90d'],
    [{ maxAgeMs: 36 * HOUR }, 'max-age=1d12h'],
    [
      { maxAgeMs: DAY, yearly: 2, monthly: 12, weekly: 4, daily: 7, keepLast: 1 },
      'keep-last=1, daily=7, weekly=4, monthly=12, yearly=2, max-age=1d',
    ],
    [{}, 'off'],
    [undefined, 'off'],
  ] as [RetentionPolicy | undefined, string][])('describes %j as %p and parses back', (policy, text) => {
    expect(describeRetention(policy)).toBe(text);
    const back = parseRetention('retention', text);
    expect(back).toEqual(policy && Object.keys(policy).length > 0 ? policy : undefined);
  });
});
