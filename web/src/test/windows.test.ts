import type { TimeWindow } from "../api/types";
import { toGrid, toWindows } from "../features/leads/windows";

test("windows become hours and back, days sharing a range sharing a window", () => {
  const windows: TimeWindow[] = [
    { days: ["MON", "WED"], start: "09:00", end: "12:00" },
    { days: ["FRI"], start: "18:00", end: "20:00" },
  ];
  expect(toWindows(toGrid(windows))).toEqual([
    { days: ["MON", "WED"], start: "09:00", end: "12:00" },
    { days: ["FRI"], start: "18:00", end: "20:00" },
  ]);
});

test("a window over midnight lands on the next day, and a late hour ends at 24:00", () => {
  const grid = toGrid([{ days: ["SUN"], start: "22:00", end: "01:00" }]);
  expect(grid[6]?.[22]).toBe(true);
  expect(grid[0]?.[0]).toBe(true); // Monday 00:00-01:00
  expect(toWindows(grid)).toEqual([
    { days: ["MON"], start: "00:00", end: "01:00" },
    { days: ["SUN"], start: "22:00", end: "24:00" },
  ]);
});
