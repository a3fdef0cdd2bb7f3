import ChevronLeft from "@mui/icons-material/ChevronLeft";
import ChevronRight from "@mui/icons-material/ChevronRight";
import {
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControl,
  IconButton,
  InputLabel,
  MenuItem,
  Select,
  Stack,
  TextField,
  Typography,
} from "@mui/material";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { ErrorAlert } from "../../components/PageState";
import { useStartCall } from "../calls/queries";

type Task = components["schemas"]["TaskOut"];
type Outcome = components["schemas"]["CallOutcome"];
const OUTCOMES: Outcome[] = ["ANSWERED", "NO_ANSWER", "BUSY", "VOICEMAIL", "CALLBACK_REQUESTED", "NOT_INTERESTED", "DO_NOT_CALL"];
const FIRST_HOUR = 7;
const LAST_HOUR = 22;
const HOUR_PX = 44;

function startOfWeek(day: Date): Date {
  const monday = new Date(day);
  monday.setHours(0, 0, 0, 0);
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  return monday;
}

/** The agent's week of call tasks in their own time. A task opens a dialog to start the call or
 * record how it went. */
export function WeekCalendar() {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [weekStart, setWeekStart] = useState(() => startOfWeek(new Date()));
  const [chosen, setChosen] = useState<Task | null>(null);
  const [outcome, setOutcome] = useState<Outcome>("ANSWERED");
  const [notes, setNotes] = useState("");
  const weekEnd = new Date(weekStart.getTime() + 7 * 86_400_000);
  const tasks = useQuery({
    queryKey: ["scheduler", "week", weekStart.toISOString()],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/scheduler/tasks", {
          params: {
            query: {
              from: weekStart.toISOString(),
              to: weekEnd.toISOString(),
              status: ["PENDING", "DISPATCHED", "DONE", "MISSED"],
              page_size: 200,
            },
          },
        }),
      ),
  });
  const complete = useMutation({
    mutationFn: async (task: Task) =>
      unwrap(
        await api.POST("/api/scheduler/tasks/{task_id}/complete", {
          params: { path: { task_id: task.id } },
          body: { outcome, notes: notes || null, callback_at: null },
        }),
      ),
    onSuccess: () => {
      setChosen(null);
      setNotes("");
      void client.invalidateQueries({ queryKey: ["scheduler"] });
    },
  });
  const start = useStartCall();
  const days = Array.from({ length: 7 }, (_, index) => new Date(weekStart.getTime() + index * 86_400_000));
  const dayLabel = new Intl.DateTimeFormat(i18n.language, { weekday: "short", day: "numeric", month: "short" });
  const time = new Intl.DateTimeFormat(i18n.language, { timeStyle: "short" });
  const byDay = days.map((day) =>
    (tasks.data?.items ?? []).filter((task) => new Date(task.scheduled_for).toDateString() === day.toDateString()),
  );
  const move = (weeks: number) => setWeekStart(new Date(weekStart.getTime() + weeks * 7 * 86_400_000));

  return (
    <Box>
      <Stack direction="row" spacing={1} sx={{ alignItems: "center", mb: 1 }}>
        <IconButton aria-label={t("calendar.previous")} onClick={() => move(-1)}>
          <ChevronLeft />
        </IconButton>
        <IconButton aria-label={t("calendar.next")} onClick={() => move(1)}>
          <ChevronRight />
        </IconButton>
        <Button size="small" onClick={() => setWeekStart(startOfWeek(new Date()))}>
          {t("calendar.thisWeek")}
        </Button>
        <Typography variant="body2" color="text.secondary">
          {dayLabel.format(days[0])} – {dayLabel.format(days[6])}
        </Typography>
      </Stack>
      {tasks.error ? <ErrorAlert error={tasks.error} /> : null}
      <Box sx={{ display: "grid", gridTemplateColumns: "48px repeat(7, minmax(0, 1fr))", border: 1, borderColor: "divider" }}>
        <Box />
        {days.map((day) => (
          <Typography key={day.toISOString()} variant="caption" sx={{ textAlign: "center", py: 0.5, borderInlineStart: 1, borderColor: "divider" }}>
            {dayLabel.format(day)}
          </Typography>
        ))}
        <Box sx={{ position: "relative", height: (LAST_HOUR - FIRST_HOUR) * HOUR_PX }}>
          {Array.from({ length: LAST_HOUR - FIRST_HOUR }, (_, index) => (
            <Typography key={index} variant="caption" color="text.secondary" sx={{ position: "absolute", top: index * HOUR_PX, insetInlineEnd: 4 }}>
              {FIRST_HOUR + index}:00
            </Typography>
          ))}
        </Box>
        {byDay.map((list, index) => (
          <Box
            key={index}
            role="list"
            aria-label={dayLabel.format(days[index])}
            sx={{ position: "relative", borderInlineStart: 1, borderColor: "divider", height: (LAST_HOUR - FIRST_HOUR) * HOUR_PX }}
          >
            {list.map((task) => {
              const at = new Date(task.scheduled_for);
              const hour = Math.min(Math.max(at.getHours() + at.getMinutes() / 60, FIRST_HOUR), LAST_HOUR - 0.5);
              return (
                <Box
                  key={task.id}
                  role="listitem"
                  sx={{ position: "absolute", top: (hour - FIRST_HOUR) * HOUR_PX, insetInline: 2 }}
                >
                  <Button
                    size="small"
                    variant={task.status === "PENDING" ? "contained" : "outlined"}
                    onClick={() => setChosen(task)}
                    sx={{ width: "100%", justifyContent: "flex-start", textTransform: "none", py: 0, minHeight: 0, fontSize: 12 }}
                  >
                    {time.format(at)} {task.lead_name}
                  </Button>
                </Box>
              );
            })}
          </Box>
        ))}
      </Box>
      <Dialog open={chosen !== null} onClose={() => setChosen(null)} aria-labelledby="task-title">
        {chosen ? (
          <>
            <DialogTitle id="task-title">
              {t("calendar.taskTitle", { name: chosen.lead_name, time: time.format(new Date(chosen.scheduled_for)) })}
            </DialogTitle>
            <DialogContent>
              <Stack spacing={2} sx={{ pt: 1 }}>
                <Stack direction="row" spacing={1}>
                  <Button
                    variant="contained"
                    disabled={start.isPending}
                    onClick={() =>
                      start.mutate(
                        { lead_id: chosen.lead_id, mode: "phone" },
                        { onSuccess: (turn) => navigate(`/agent/calls/${turn.session.id}`) },
                      )
                    }
                  >
                    {t("lead.callPhone")}
                  </Button>
                  <Button onClick={() => navigate(`/agent/leads/${chosen.lead_id}`)}>{t("call.lead")}</Button>
                </Stack>
                {start.error ? <ErrorAlert error={start.error} /> : null}
                {chosen.status === "PENDING" ? (
                  <>
                    <FormControl size="small">
                      <InputLabel id="outcome-label">{t("calendar.outcome")}</InputLabel>
                      <Select labelId="outcome-label" label={t("calendar.outcome")} value={outcome} onChange={(e) => setOutcome(e.target.value as Outcome)}>
                        {OUTCOMES.map((item) => (
                          <MenuItem key={item} value={item}>
                            {t(`outcome.${item}`)}
                          </MenuItem>
                        ))}
                      </Select>
                    </FormControl>
                    <TextField size="small" label={t("calendar.notes")} value={notes} onChange={(e) => setNotes(e.target.value)} />
                    {complete.error ? <ErrorAlert error={complete.error} /> : null}
                  </>
                ) : null}
              </Stack>
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setChosen(null)}>{t("prospectus.cancel")}</Button>
              {chosen.status === "PENDING" ? (
                <Button variant="contained" onClick={() => complete.mutate(chosen)} disabled={complete.isPending}>
                  {t("calendar.record")}
                </Button>
              ) : null}
            </DialogActions>
          </>
        ) : null}
      </Dialog>
    </Box>
  );
}
