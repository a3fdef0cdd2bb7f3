import type { TimeWindow } from "../../api/types";

export const DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] as const;
export type Day = (typeof DAYS)[number];
/** Selected hours per day: grid[day][hour] (local time of the lead). */
export type HourGrid = boolean[][];

const minutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** Windows -> an hour grid; an hour counts when a window covers any of it. */
export function toGrid(windows: TimeWindow[]): HourGrid {
  const grid = DAYS.map(() => Array<boolean>(24).fill(false));
  for (const window of windows) {
    const start = minutes(window.start);
    let end = minutes(window.end);
    if (end <= start) end += 24 * 60; // crosses midnight: runs into the next day
    for (const day of window.days) {
      const index = DAYS.indexOf(day as Day);
      for (let minute = start; minute < end; minute += 60) {
        const hour = Math.floor(minute / 60);
        const row = grid[(index + Math.floor(hour / 24)) % 7];
        if (row) row[hour % 24] = true;
      }
    }
  }
  return grid;
}

const clock = (hour: number) => (hour === 24 ? "24:00" : `${String(hour).padStart(2, "0")}:00`);

/** An hour grid -> windows: each run of hours becomes a range, days sharing a range share a window. */
export function toWindows(grid: HourGrid): TimeWindow[] {
  const byRange = new Map<string, Day[]>();
  grid.forEach((hours, dayIndex) => {
    let hour = 0;
    while (hour < 24) {
      if (!hours[hour]) {
        hour += 1;
        continue;
      }
      const start = hour;
      while (hour < 24 && hours[hour]) hour += 1;
      const key = `${clock(start)}-${clock(hour)}`;
      byRange.set(key, [...(byRange.get(key) ?? []), DAYS[dayIndex] as Day]);
    }
  });
  return [...byRange.entries()].map(([range, days]) => {
    const [start = "", end = ""] = range.split("-");
    return { days, start, end };
  });
}
