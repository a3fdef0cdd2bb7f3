import {
  Alert,
  Box,
  Button,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  List,
  ListItem,
  ListItemButton,
  ListItemText,
  Paper,
  Stack,
  Typography,
} from "@mui/material";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { ErrorAlert, PageState } from "../../components/PageState";
import { leadKeys, useLead } from "../../features/leads/queries";
import { formatDateTime } from "../../lib/format";

/** A lead's prospectus: its versions, the selected one's preview, the PDF, and sending it by email. */
export default function ProspectusPage() {
  const { leadId = "" } = useParams();
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const lead = useLead(leadId);
  const versions = useQuery({
    queryKey: ["prospectus", leadId],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/prospectus/{lead_id}", { params: { path: { lead_id: leadId }, query: { page_size: 50 } } }),
      ),
    // A version being rendered is looked at again until it is ready or failed.
    refetchInterval: (query) =>
      query.state.data?.items.some((v) => v.status === "QUEUED" || v.status === "RENDERING") ? 2000 : false,
  });
  const [chosen, setChosen] = useState<number | null>(null);
  const [confirming, setConfirming] = useState(false);
  const items = versions.data?.items ?? [];
  const selected = items.find((v) => v.version === chosen) ?? items.find((v) => v.status === "READY") ?? items[0];
  const generate = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/prospectus/{lead_id}", { params: { path: { lead_id: leadId } }, body: null })),
    onSuccess: (version) => {
      setChosen(version.version);
      void client.invalidateQueries({ queryKey: ["prospectus", leadId] });
    },
  });
  const send = useMutation({
    mutationFn: async (prospectusId: string) =>
      unwrap(await api.POST("/api/email/send", { body: { lead_id: leadId, prospectus_id: prospectusId } })),
    onSettled: () => {
      setConfirming(false);
      void client.invalidateQueries({ queryKey: leadKeys.activities(leadId) });
    },
  });
  const email = lead.data?.email;
  return (
    <PageState loading={versions.isPending || lead.isPending} error={versions.error ?? lead.error}>
      <Stack spacing={2}>
        <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }} useFlexGap>
          <Typography variant="h5" component="h1">
            {t("prospectus.title", { name: lead.data?.name ?? "" })}
          </Typography>
          <Button component={Link} to={`/agent/leads/${leadId}`}>
            {t("call.lead")}
          </Button>
          <Button variant="outlined" onClick={() => generate.mutate()} disabled={generate.isPending}>
            {t("prospectus.generate")}
          </Button>
        </Stack>
        {generate.error ? <ErrorAlert error={generate.error} /> : null}
        {items.length === 0 ? (
          <Typography color="text.secondary">{t("prospectus.none")}</Typography>
        ) : (
          <Box sx={{ display: "grid", gap: 2, gridTemplateColumns: { xs: "1fr", lg: "260px minmax(0, 1fr)" } }}>
            <Paper component="section" aria-labelledby="versions-heading">
              <Typography id="versions-heading" variant="subtitle1" component="h2" sx={{ p: 2, pb: 0 }}>
                {t("prospectus.versions")}
              </Typography>
              <List aria-label={t("prospectus.versions")}>
                {items.map((version) => (
                  <ListItem key={version.id} disablePadding>
                    <ListItemButton selected={version.id === selected?.id} onClick={() => setChosen(version.version)}>
                      <ListItemText
                        primary={t("prospectus.version", { version: version.version })}
                        secondary={formatDateTime(version.created_at, i18n.language)}
                      />
                      <Chip
                        size="small"
                        label={t(`prospectus.status.${version.status}`)}
                        color={version.status === "READY" ? "success" : version.status === "FAILED" ? "error" : "default"}
                      />
                    </ListItemButton>
                  </ListItem>
                ))}
              </List>
            </Paper>
            {selected ? (
              <Paper sx={{ p: 2 }} component="section" aria-labelledby="preview-heading">
                <Stack direction="row" spacing={1} sx={{ alignItems: "center", mb: 2, flexWrap: "wrap" }} useFlexGap>
                  <Typography id="preview-heading" variant="subtitle1" component="h2" sx={{ flexGrow: 1 }}>
                    {t("prospectus.version", { version: selected.version })}
                  </Typography>
                  {selected.status === "READY" ? (
                    <>
                      <Button component="a" href={selected.links.pdf ?? undefined} download>
                        {t("prospectus.downloadPdf")}
                      </Button>
                      <Button variant="contained" disabled={!email || send.isPending} onClick={() => setConfirming(true)}>
                        {t("prospectus.sendByEmail")}
                      </Button>
                    </>
                  ) : null}
                </Stack>
                {!email ? <Alert severity="info">{t("prospectus.noEmail")}</Alert> : null}
                {send.data ? (
                  <Alert severity="success" role="status">
                    {t("prospectus.queued", { email: send.data.to_email ?? email })}
                  </Alert>
                ) : null}
                {send.error ? <ErrorAlert error={send.error} /> : null}
                {selected.status === "FAILED" ? <Alert severity="error">{selected.error}</Alert> : null}
                {selected.status === "READY" ? (
                  <Box
                    component="iframe"
                    title={t("prospectus.preview")}
                    src={selected.links.html ?? undefined}
                    sandbox=""
                    sx={{ width: "100%", height: 720, border: 1, borderColor: "divider", borderRadius: 1, bgcolor: "#fff" }}
                  />
                ) : selected.status !== "FAILED" ? (
                  <Typography color="text.secondary">{t("prospectus.rendering")}</Typography>
                ) : null}
              </Paper>
            ) : null}
          </Box>
        )}
        <Dialog open={confirming} onClose={() => setConfirming(false)} aria-labelledby="send-title">
          <DialogTitle id="send-title">{t("prospectus.confirmTitle")}</DialogTitle>
          <DialogContent>
            <DialogContentText>{t("prospectus.confirmBody", { email, version: selected?.version })}</DialogContentText>
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setConfirming(false)}>{t("prospectus.cancel")}</Button>
            <Button variant="contained" onClick={() => selected && send.mutate(selected.id)} disabled={send.isPending}>
              {t("prospectus.send")}
            </Button>
          </DialogActions>
        </Dialog>
      </Stack>
    </PageState>
  );
}
