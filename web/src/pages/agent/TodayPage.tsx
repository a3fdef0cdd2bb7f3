import { Box, Chip, List, ListItem, ListItemButton, ListItemText, Paper, Stack, Typography } from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { PageState } from "../../components/PageState";
import { WeekCalendar } from "../../features/calendar/WeekCalendar";
import { usePipeline } from "../../features/leads/queries";
import { formatTime, formatWallTime } from "../../lib/format";

const agentZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The agent's day: what is due now, what is overdue, what comes next, and the pipeline at a glance. */
export default function TodayPage() {
  const { t, i18n } = useTranslation();
  const pipeline = usePipeline();
  const queue = useQuery({
    queryKey: ["scheduler", "queue", agentZone],
    queryFn: async () =>
      unwrap(await api.GET("/api/scheduler/queue", { params: { query: { tz: agentZone, page_size: 100 } } })),
    refetchInterval: 30_000,
  });
  const now = Date.now();
  return (
    <Stack spacing={2}>
      <Typography variant="h5" component="h1">
        {t("today.title")}
      </Typography>
      <Paper sx={{ p: 2 }} component="section" aria-labelledby="pipeline-heading">
        <Typography id="pipeline-heading" variant="subtitle1" component="h2" gutterBottom>
          {t("today.pipeline")}
        </Typography>
        <PageState loading={pipeline.isPending} error={pipeline.error}>
          <Box sx={{ display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(130px, 1fr))", gap: 1 }}>
            {pipeline.data?.counts.map((item) => (
              <Paper
                key={item.status}
                component={Link}
                to={`/agent/leads?status=${item.status}`}
                sx={{ p: 1.5, textDecoration: "none", color: "inherit", "&:hover": { bgcolor: "action.hover" } }}
              >
                <Typography variant="h5" component="p">
                  {item.count}
                </Typography>
                <Typography variant="body2" color="text.secondary">
                  {t(`status.${item.status}`)}
                </Typography>
              </Paper>
            ))}
          </Box>
        </PageState>
      </Paper>
      <Paper sx={{ p: 2 }} component="section" aria-labelledby="queue-heading">
        <Typography id="queue-heading" variant="subtitle1" component="h2" gutterBottom>
          {t("today.queue")}
        </Typography>
        <PageState
          loading={queue.isPending}
          error={queue.error}
          empty={queue.data?.items.length === 0}
          emptyText={t("today.nothingDue")}
          onRetry={() => void queue.refetch()}
        >
          <List dense aria-label={t("today.queue")}>
            {queue.data?.items.map((task) => {
              const at = new Date(task.scheduled_for).getTime();
              const state = task.status === "DISPATCHED" ? "inCall" : at < now - 15 * 60_000 ? "overdue" : task.due ? "dueNow" : "next";
              return (
                <ListItem key={task.id} disablePadding divider>
                <ListItemButton component={Link} to={`/agent/leads/${task.lead_id}`}>
                  <ListItemText
                    primary={task.lead_name}
                    secondary={t("today.times", {
                      mine: formatTime(task.scheduled_for, i18n.language),
                      theirs: formatWallTime(task.local_time, i18n.language),
                      kind: t(`taskKind.${task.kind}`),
                    })}
                  />
                  <Chip
                    size="small"
                    label={t(`today.state.${state}`)}
                    color={state === "overdue" ? "error" : state === "dueNow" ? "warning" : "default"}
                  />
                </ListItemButton>
                </ListItem>
              );
            })}
          </List>
        </PageState>
      </Paper>
      <Paper sx={{ p: 2 }} component="section" aria-labelledby="week-heading">
        <Typography id="week-heading" variant="subtitle1" component="h2" gutterBottom>
          {t("calendar.title")}
        </Typography>
        <WeekCalendar />
      </Paper>
    </Stack>
  );
}
