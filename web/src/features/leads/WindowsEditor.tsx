import { Box, Button, Stack, Typography } from "@mui/material";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { TimeWindow } from "../../api/types";
import { DAYS, type HourGrid, toGrid, toWindows } from "./windows";

interface Props {
  windows: TimeWindow[];
  timezone: string;
  saving: boolean;
  onSave: (windows: TimeWindow[]) => void;
}

/** Days x hours in the lead's timezone: click (or Space) an hour to offer it, Save to keep. */
export function WindowsEditor({ windows, timezone, saving, onSave }: Props) {
  const { t } = useTranslation();
  const [grid, setGrid] = useState<HourGrid>(() => toGrid(windows));
  const toggle = (day: number, hour: number) =>
    setGrid((current) => current.map((hours, d) => (d === day ? hours.map((on, h) => (h === hour ? !on : on)) : hours)));
  const dirty = JSON.stringify(toWindows(grid)) !== JSON.stringify(toWindows(toGrid(windows)));
  return (
    <Stack spacing={1}>
      <Typography variant="body2" color="text.secondary">
        {t("windows.help", { timezone })}
      </Typography>
      <Box
        role="group"
        aria-label={t("windows.grid")}
        sx={{ display: "grid", gridTemplateColumns: "48px repeat(24, minmax(16px, 1fr))", gap: "2px", direction: "ltr" }}
      >
        <Box />
        {Array.from({ length: 24 }, (_, hour) => (
          <Typography key={hour} variant="caption" sx={{ textAlign: "center", fontSize: 10 }} aria-hidden>
            {hour % 3 === 0 ? hour : ""}
          </Typography>
        ))}
        {DAYS.map((day, dayIndex) => (
          <Box key={day} role="group" aria-label={t(`days.${day}`)} sx={{ display: "contents" }}>
            <Typography variant="caption" aria-hidden sx={{ alignSelf: "center" }}>
              {t(`days.${day}`)}
            </Typography>
            {Array.from({ length: 24 }, (_, hour) => {
              const on = grid[dayIndex]?.[hour] ?? false;
              return (
                <Box
                  key={hour}
                  component="button"
                  type="button"
                  aria-pressed={on}
                  aria-label={t("windows.cell", { day: t(`days.${day}`), hour })}
                  onClick={() => toggle(dayIndex, hour)}
                  sx={{
                    height: 22,
                    border: 1,
                    borderColor: on ? "primary.dark" : "divider",
                    bgcolor: on ? "primary.main" : "background.paper",
                    borderRadius: 0.5,
                    cursor: "pointer",
                    p: 0,
                    "&:focus-visible": { outline: "2px solid", outlineColor: "secondary.main", outlineOffset: 1 },
                  }}
                />
              );
            })}
          </Box>
        ))}
      </Box>
      <Stack direction="row" spacing={1}>
        <Button variant="contained" disabled={!dirty || saving} onClick={() => onSave(toWindows(grid))}>
          {t("windows.save")}
        </Button>
        <Button disabled={!dirty || saving} onClick={() => setGrid(toGrid(windows))}>
          {t("windows.reset")}
        </Button>
      </Stack>
    </Stack>
  );
}
