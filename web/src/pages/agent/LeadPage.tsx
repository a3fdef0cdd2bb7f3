import {
  Alert,
  Box,
  Button,
  Chip,
  Divider,
  FormControl,
  FormControlLabel,
  InputLabel,
  List,
  ListItem,
  ListItemText,
  MenuItem,
  Paper,
  Select,
  Stack,
  Switch,
  TextField,
  Typography,
} from "@mui/material";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { api, fieldErrors, unwrap } from "../../api/client";
import { LEAD_STATUSES, type Lead, type LeadStatus } from "../../api/types";
import { ErrorAlert, PageState } from "../../components/PageState";
import { useStartCall } from "../../features/calls/queries";
import { WindowsEditor } from "../../features/leads/WindowsEditor";
import { leadKeys, useActivities, useLead, useLeadPlan, useUpdateLead } from "../../features/leads/queries";
import { formatDateTime, zoneCity } from "../../lib/format";

function Field({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <Box>
      <Typography variant="caption" color="text.secondary" component="div">
        {label}
      </Typography>
      <Typography variant="body2">{value ?? "—"}</Typography>
    </Box>
  );
}

function TimezoneCard({ lead }: { lead: Lead }) {
  const { t, i18n } = useTranslation();
  const plan = useLeadPlan(lead.id);
  const source = lead.timezone_source ?? "unknown";
  return (
    <Paper sx={{ p: 2 }} component="section" aria-labelledby="timezone-heading">
      <Typography id="timezone-heading" variant="subtitle1" component="h2" gutterBottom>
        {t("lead.whenToCall")}
      </Typography>
      <Stack spacing={1}>
        <Stack direction="row" spacing={1} sx={{ alignItems: "center", flexWrap: "wrap" }} useFlexGap>
          <Typography variant="body2">{lead.timezone}</Typography>
          <Chip size="small" label={t(`timezoneSource.${source}`)} />
          {plan.data?.timezone_needed ? <Chip size="small" color="warning" label={t("lead.timezoneNeeded")} /> : null}
        </Stack>
        {lead.timezone_candidates.length > 1 ? (
          <Typography variant="body2" color="text.secondary">
            {t("lead.candidates", { zones: lead.timezone_candidates.map(zoneCity).join(", ") })}
          </Typography>
        ) : null}
        {plan.data ? (
          <>
            <Typography variant="body2">{t("lead.legalHours", { rule: plan.data.legal_hours })}</Typography>
            <Typography variant="body2">
              {plan.data.next_task
                ? t("lead.nextCall", {
                    lead: formatDateTime(plan.data.next_task.scheduled_for, i18n.language, lead.timezone),
                    mine: formatDateTime(plan.data.next_task.scheduled_for, i18n.language),
                  })
                : plan.data.dialing_stopped
                  ? t("lead.dialingStopped", { reason: t(`dialingStop.${plan.data.dialing_stopped}`) })
                  : t("lead.noNextCall")}
            </Typography>
          </>
        ) : plan.error ? (
          <Typography variant="body2" color="text.secondary">
            {t("lead.planUnavailable")}
          </Typography>
        ) : null}
      </Stack>
    </Paper>
  );
}

function Timeline({ leadId }: { leadId: string }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const activities = useActivities(leadId);
  const [note, setNote] = useState("");
  const add = useMutation({
    mutationFn: async (text: string) =>
      unwrap(
        await api.POST("/api/leads/{lead_id}/activities", {
          params: { path: { lead_id: leadId } },
          body: { type: "NOTE", text },
        }),
      ),
    onSuccess: () => {
      setNote("");
      void client.invalidateQueries({ queryKey: leadKeys.activities(leadId) });
    },
  });
  return (
    <Paper sx={{ p: 2 }} component="section" aria-labelledby="timeline-heading">
      <Typography id="timeline-heading" variant="subtitle1" component="h2" gutterBottom>
        {t("lead.timeline")}
      </Typography>
      <Stack
        component="form"
        direction="row"
        spacing={1}
        sx={{ mb: 2 }}
        onSubmit={(event) => {
          event.preventDefault();
          if (note.trim()) add.mutate(note.trim());
        }}
      >
        <TextField
          size="small"
          fullWidth
          label={t("lead.addNote")}
          value={note}
          onChange={(event) => setNote(event.target.value)}
          error={Boolean(fieldErrors(add.error).text)}
          helperText={fieldErrors(add.error).text}
          slotProps={{ htmlInput: { maxLength: 4000 } }}
        />
        <Button type="submit" variant="contained" disabled={!note.trim() || add.isPending}>
          {t("lead.saveNote")}
        </Button>
      </Stack>
      {add.error && !fieldErrors(add.error).text ? <ErrorAlert error={add.error} /> : null}
      <PageState loading={activities.isPending} error={activities.error} empty={activities.data?.items.length === 0}>
        <List dense aria-label={t("lead.timeline")}>
          {activities.data?.items.map((item) => (
            <ListItem key={item.id} divider alignItems="flex-start">
              <ListItemText
                primary={item.summary}
                secondary={`${t(`activity.${item.type}`)} · ${formatDateTime(item.occurred_at, i18n.language)}`}
              />
            </ListItem>
          ))}
        </List>
      </PageState>
    </Paper>
  );
}

function CallButtons({ lead }: { lead: Lead }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const start = useStartCall();
  const call = (mode: "simulated" | "phone") =>
    start.mutate({ lead_id: lead.id, mode }, { onSuccess: (turn) => navigate(`/agent/calls/${turn.session.id}`) });
  return (
    <Stack spacing={1}>
      <Stack direction="row" spacing={1}>
        <Button variant="contained" onClick={() => call("phone")} disabled={start.isPending || lead.consent_flags.dnd}>
          {t("lead.callPhone")}
        </Button>
        <Button variant="outlined" onClick={() => call("simulated")} disabled={start.isPending || lead.consent_flags.dnd}>
          {t("lead.callSimulated")}
        </Button>
        <Button component={Link} to={`/agent/leads/${lead.id}/prospectus`}>
          {t("lead.prospectus")}
        </Button>
      </Stack>
      {/* The API's refusal as it is: do not call, outside calling hours, timezone needed, no phone line. */}
      {start.error ? <ErrorAlert error={start.error} /> : null}
    </Stack>
  );
}

export default function LeadPage() {
  const { leadId = "" } = useParams();
  const { t } = useTranslation();
  const lead = useLead(leadId);
  const update = useUpdateLead();
  const data = lead.data;
  return (
    <PageState loading={lead.isPending} error={lead.error}>
      {data ? (
        <Stack spacing={2}>
          <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }} useFlexGap>
            <Typography variant="h5" component="h1">
              {data.name}
            </Typography>
            <FormControl size="small" sx={{ minWidth: 180 }}>
              <InputLabel id="lead-status">{t("leads.status")}</InputLabel>
              <Select
                labelId="lead-status"
                label={t("leads.status")}
                value={data.status}
                onChange={(event) => update.mutate({ id: data.id, patch: { status: event.target.value as LeadStatus } })}
              >
                {LEAD_STATUSES.map((status) => (
                  <MenuItem key={status} value={status}>
                    {t(`status.${status}`)}
                  </MenuItem>
                ))}
              </Select>
            </FormControl>
          </Stack>
          <CallButtons lead={data} />
          {update.error ? <ErrorAlert error={update.error} /> : null}
          <Box sx={{ display: "grid", gap: 2, gridTemplateColumns: { xs: "1fr", lg: "minmax(0, 1fr) minmax(0, 1fr)" } }}>
            <Stack spacing={2}>
              <Paper sx={{ p: 2 }} component="section" aria-labelledby="profile-heading">
                <Typography id="profile-heading" variant="subtitle1" component="h2" gutterBottom>
                  {t("lead.profile")}
                </Typography>
                <Box sx={{ display: "grid", gridTemplateColumns: "repeat(3, minmax(0, 1fr))", gap: 2 }}>
                  <Field label={t("leads.column.phone")} value={<span dir="ltr">{data.phone}</span>} />
                  <Field label={t("lead.email")} value={data.email} />
                  <Field label={t("leads.column.age")} value={data.age} />
                  <Field label={t("lead.location")} value={data.location} />
                  <Field label={t("leads.source")} value={data.source} />
                  <Field label={t("lead.incomeBand")} value={data.income_band} />
                </Box>
                {data.notes ? (
                  <>
                    <Divider sx={{ my: 2 }} />
                    <Typography variant="body2">{data.notes}</Typography>
                  </>
                ) : null}
              </Paper>
              <Paper sx={{ p: 2 }} component="section" aria-labelledby="consent-heading">
                <Typography id="consent-heading" variant="subtitle1" component="h2" gutterBottom>
                  {t("lead.consent")}
                </Typography>
                <Stack>
                  {(["dnd", "email_opt_out", "call_recording"] as const).map((flag) => (
                    <FormControlLabel
                      key={flag}
                      control={
                        <Switch
                          checked={data.consent_flags[flag]}
                          onChange={(event) =>
                            update.mutate({ id: data.id, patch: { consent_flags: { [flag]: event.target.checked } } })
                          }
                        />
                      }
                      label={t(`consent.${flag}`)}
                    />
                  ))}
                </Stack>
                {data.consent_flags.dnd ? <Alert severity="warning">{t("lead.dndWarning")}</Alert> : null}
              </Paper>
              <TimezoneCard lead={data} />
              <Paper sx={{ p: 2 }} component="section" aria-labelledby="windows-heading">
                <Typography id="windows-heading" variant="subtitle1" component="h2" gutterBottom>
                  {t("windows.title")}
                </Typography>
                <WindowsEditor
                  key={JSON.stringify(data.preferred_time_windows)}
                  windows={data.preferred_time_windows}
                  timezone={data.timezone}
                  saving={update.isPending}
                  onSave={(windows) => update.mutate({ id: data.id, patch: { preferred_time_windows: windows } })}
                />
              </Paper>
            </Stack>
            <Timeline leadId={data.id} />
          </Box>
        </Stack>
      ) : null}
    </PageState>
  );
}
