import { DateTime } from 'luxon';

/** A mailbox's sending window: local times in an IANA zone, ISO weekdays (1 = Monday … 7 = Sunday). */
export interface SendingWindow {
  timeZone: string;
  /** "HH:mm" or "HH:mm:ss" (PostgreSQL `time` text). */
  start: string;
  end: string;
  days: number[];
}

function parseTime(value: string): { hour: number; minute: number; second: number } {
  const [h = '0', m = '0', s = '0'] = value.split(':');
  return { hour: Number(h), minute: Number(m), second: Math.floor(Number(s)) };
}

function local(at: Date, zone: string): DateTime {
  const dt = DateTime.fromJSDate(at, { zone });
  if (!dt.isValid) throw new Error(`invalid time zone ${zone}`);
  return dt;
}

/**
 * The first instant ≥ `at` inside the window. Local wall-clock arithmetic in the mailbox's zone
 * (luxon), so a window opening at 09:00 opens at 09:00 local on both sides of a DST change.
 */
export function nextWindowStart(at: Date, window: SendingWindow): Date {
  let day = local(at, window.timeZone);
  const start = parseTime(window.start);
  const end = parseTime(window.end);
  for (let i = 0; i < 9; i++) {
    if (window.days.includes(day.weekday)) {
      const opens = day.set({ ...start, millisecond: 0 });
      const closes = day.set({ ...end, millisecond: 0 });
      const candidate = i === 0 ? local(at, window.timeZone) : day;
      if (candidate < opens) return opens.toJSDate();
      if (candidate < closes) return candidate.toJSDate();
    }
    day = day.plus({ days: 1 }).startOf('day');
  }
  throw new Error('sending window has no open day');
}

export function isInsideWindow(at: Date, window: SendingWindow): boolean {
  return nextWindowStart(at, window).getTime() === at.getTime();
}

/** When step n+1 is due: `delayDays` local days after the previous send, then into the window. */
export function followUpAt(sentAt: Date, delayDays: number, window: SendingWindow): Date {
  const due = local(sentAt, window.timeZone).plus({ days: delayDays }).toJSDate();
  return nextWindowStart(due, window);
}

/** [start, end) of the local day containing `at` (daily caps count per mailbox-local day). */
export function localDayBounds(at: Date, timeZone: string): { start: Date; end: Date } {
  const day = local(at, timeZone).startOf('day');
  return { start: day.toJSDate(), end: day.plus({ days: 1 }).toJSDate() };
}

/** The start of the next local day's window (where an over-cap task goes). */
export function nextDayWindowStart(at: Date, window: SendingWindow): Date {
  const tomorrow = local(at, window.timeZone).plus({ days: 1 }).startOf('day').toJSDate();
  return nextWindowStart(tomorrow, window);
}
