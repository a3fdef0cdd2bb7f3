import { Alert, Box, Button, Chip, Paper, Stack, TextField, Typography } from "@mui/material";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { ErrorAlert, PageState } from "../../components/PageState";
import { CallInsights } from "../../features/calls/CallInsights";
import { type Line, callKeys, useLiveTranscript, useSession } from "../../features/calls/queries";
import { formatTime } from "../../lib/format";
import { callDuration, formatDuration } from "./CallsPage";

function Transcript({ lines, live }: { lines: Line[]; live: boolean }) {
  const { t, i18n } = useTranslation();
  const end = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    // A block, not an expression: browsers now return a Promise from scrollIntoView, and React would
    // take it for the effect's cleanup.
    void end.current?.scrollIntoView?.({ block: "nearest" });
  }, [lines.length]);
  return (
    <Box
      role="log"
      aria-live={live ? "polite" : "off"}
      aria-label={t("call.transcript")}
      // Scrollable, so reachable by keyboard too.
      tabIndex={0}
      sx={{ maxHeight: 480, overflowY: "auto", display: "flex", flexDirection: "column", gap: 1, p: 1 }}
    >
      {lines.map((line) => (
        <Box
          key={line.seq}
          data-speaker={line.speaker}
          sx={{
            alignSelf: line.speaker === "prospect" ? "flex-end" : "flex-start",
            maxWidth: "80%",
            bgcolor: line.speaker === "prospect" ? "primary.main" : line.speaker === "bot" ? "grey.100" : "transparent",
            color: line.speaker === "prospect" ? "primary.contrastText" : "text.primary",
            borderRadius: 2,
            px: 1.5,
            py: 1,
          }}
        >
          <Typography variant="caption" component="div" sx={{ opacity: 0.8 }}>
            {t(`call.speaker.${line.speaker}`)} · {formatTime(line.at, i18n.language)}
          </Typography>
          <Typography variant="body2">{line.text}</Typography>
        </Box>
      ))}
      <div ref={end} />
    </Box>
  );
}

/** One call: the transcript (live while it runs), and for a simulated call the panel where the agent
 * plays the prospect. */
export default function CallPage() {
  const { callId = "" } = useParams();
  const { t } = useTranslation();
  const client = useQueryClient();
  const session = useSession(callId);
  const live = useLiveTranscript(callId);
  const [text, setText] = useState("");
  const refresh = () => void client.invalidateQueries({ queryKey: callKeys.one(callId) });
  const say = useMutation({
    mutationFn: async (words: string) =>
      unwrap(
        await api.POST("/api/voice/sessions/{session_id}/messages", {
          params: { path: { session_id: callId } },
          body: { text: words },
        }),
      ),
    onSuccess: (turn) => {
      setText("");
      if (turn.ended) refresh();
    },
  });
  const stop = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/voice/sessions/{session_id}/stop", { params: { path: { session_id: callId } } })),
    onSuccess: refresh,
  });
  useEffect(() => {
    if (live.ended) refresh();
  }, [live.ended]); // eslint-disable-line react-hooks/exhaustive-deps

  const data = session.data;
  const running = data ? !data.ended_at && !live.ended : false;
  return (
    <PageState loading={session.isPending} error={session.error}>
      {data ? (
        <Stack spacing={2}>
          <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }} useFlexGap>
            <Typography variant="h5" component="h1">
              {t(data.mode === "simulated" ? "call.simulatedTitle" : "call.phoneTitle")}
            </Typography>
            <Chip label={running ? t("call.inProgress") : t(`outcome.${data.outcome ?? "UNKNOWN"}`, { defaultValue: data.outcome ?? "" })} color={running ? "success" : "default"} />
            <Typography variant="body2" color="text.secondary">
              {formatDuration(callDuration(data))}
            </Typography>
            <Button component={Link} to={`/agent/leads/${data.lead_id}`}>
              {t("call.lead")}
            </Button>
          </Stack>
          <Box sx={{ display: "grid", gap: 2, gridTemplateColumns: { xs: "1fr", lg: "minmax(0, 3fr) minmax(0, 2fr)" } }}>
            <Paper sx={{ p: 2 }} component="section" aria-labelledby="transcript-heading">
              <Typography id="transcript-heading" variant="subtitle1" component="h2" gutterBottom>
                {t("call.transcript")}
              </Typography>
              <Transcript lines={live.lines} live={running} />
              {running && data.mode === "simulated" ? (
                <Stack
                  component="form"
                  direction="row"
                  spacing={1}
                  sx={{ mt: 2 }}
                  onSubmit={(event) => {
                    event.preventDefault();
                    if (text.trim()) say.mutate(text.trim());
                  }}
                >
                  <TextField
                    size="small"
                    fullWidth
                    autoFocus
                    label={t("call.youAreTheProspect")}
                    value={text}
                    onChange={(event) => setText(event.target.value)}
                    slotProps={{ htmlInput: { maxLength: 2000 } }}
                  />
                  <Button type="submit" variant="contained" disabled={!text.trim() || say.isPending}>
                    {t("call.send")}
                  </Button>
                  <Button color="error" onClick={() => stop.mutate()} disabled={stop.isPending}>
                    {t("call.end")}
                  </Button>
                </Stack>
              ) : null}
              {say.error ? <ErrorAlert error={say.error} /> : null}
              {stop.error ? <ErrorAlert error={stop.error} /> : null}
            </Paper>
            <Stack spacing={2}>
              <Paper sx={{ p: 2 }} component="section" aria-labelledby="summary-heading">
                <Typography id="summary-heading" variant="subtitle1" component="h2" gutterBottom>
                  {t("call.summary")}
                </Typography>
                {data.summary ? (
                  <Typography variant="body2" sx={{ whiteSpace: "pre-line" }}>
                    {data.summary}
                  </Typography>
                ) : (
                  <Typography variant="body2" color="text.secondary">
                    {running ? t("call.summaryAfter") : t("call.noSummary")}
                  </Typography>
                )}
                {data.email_saved ? <Alert severity="success" sx={{ mt: 1 }}>{t("call.emailSaved", { email: data.email_saved })}</Alert> : null}
                {data.do_not_call ? <Alert severity="warning" sx={{ mt: 1 }}>{t("call.doNotCall")}</Alert> : null}
              </Paper>
              <CallInsights callId={data.id} ended={!running} />
            </Stack>
          </Box>
        </Stack>
      ) : null}
    </PageState>
  );
}
