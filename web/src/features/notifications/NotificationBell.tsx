import NotificationsIcon from "@mui/icons-material/NotificationsOutlined";
import {
  Alert,
  Badge,
  Button,
  IconButton,
  List,
  ListItem,
  ListItemButton,
  ListItemText,
  Popover,
  Snackbar,
  Stack,
  Tooltip,
  Typography,
} from "@mui/material";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { formatDateTime } from "../../lib/format";

type Notification = components["schemas"]["Notification"];
const KEY = ["notifications"] as const;

/** The agent's notifications (reminders due, emails captured, prospectuses that failed): the unread
 * count on a bell, the latest in a list, and each new one shown as it arrives over the gateway's
 * event stream (the browser reconnects it by itself). */
export function NotificationBell() {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const [toast, setToast] = useState<Notification | null>(null);
  const list = useQuery({
    queryKey: KEY,
    queryFn: async () => unwrap(await api.GET("/api/notifications", { params: { query: { page_size: 10 } } })),
  });
  useEffect(() => {
    if (typeof EventSource === "undefined") return undefined;
    const stream = new EventSource("/api/notifications/stream", { withCredentials: true });
    stream.addEventListener("notification", (event) => {
      setToast(JSON.parse((event as MessageEvent<string>).data) as Notification);
      void client.invalidateQueries({ queryKey: KEY });
    });
    stream.addEventListener("unread", () => void client.invalidateQueries({ queryKey: KEY }));
    return () => stream.close();
  }, [client]);
  const read = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/notifications/{notification_id}/read", { params: { path: { notification_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: KEY }),
  });
  const readAll = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/notifications/read-all")),
    onSuccess: () => void client.invalidateQueries({ queryKey: KEY }),
  });
  const open = (item: Notification) => {
    setAnchor(null);
    setToast(null);
    if (!item.read_at) read.mutate(item.id);
    if (item.link) navigate(item.link);
  };
  const unread = list.data?.unread ?? 0;
  const title = (item: Notification) => t(`notifications.kind.${item.kind}`, { defaultValue: item.title });
  return (
    <>
      <Tooltip title={t("notifications.title")}>
        <IconButton
          aria-label={t("notifications.label", { count: unread })}
          aria-haspopup="dialog"
          onClick={(event) => setAnchor(event.currentTarget)}
        >
          <Badge badgeContent={unread} color="error">
            <NotificationsIcon />
          </Badge>
        </IconButton>
      </Tooltip>
      <Popover
        open={anchor !== null}
        anchorEl={anchor}
        onClose={() => setAnchor(null)}
        anchorOrigin={{ vertical: "bottom", horizontal: "right" }}
        transformOrigin={{ vertical: "top", horizontal: "right" }}
        slotProps={{ paper: { role: "dialog", "aria-label": t("notifications.title") } as object }}
      >
        <Stack sx={{ width: 360, p: 1 }}>
          <Stack direction="row" sx={{ alignItems: "center", justifyContent: "space-between", px: 1 }}>
            <Typography variant="subtitle1" component="h2">
              {t("notifications.title")}
            </Typography>
            <Button size="small" disabled={!unread || readAll.isPending} onClick={() => readAll.mutate()}>
              {t("notifications.readAll")}
            </Button>
          </Stack>
          {list.data?.items.length ? (
            <List dense>
              {list.data.items.map((item) => (
                <ListItem key={item.id} disablePadding>
                  <ListItemButton onClick={() => open(item)} sx={{ fontWeight: item.read_at ? 400 : 700 }}>
                    <ListItemText
                      primary={title(item)}
                      secondary={`${item.title} · ${formatDateTime(item.created_at, i18n.language)}`}
                      slotProps={{ primary: { sx: { fontWeight: "inherit" } } }}
                    />
                  </ListItemButton>
                </ListItem>
              ))}
            </List>
          ) : (
            <Typography variant="body2" color="text.secondary" sx={{ p: 2 }}>
              {t("notifications.none")}
            </Typography>
          )}
        </Stack>
      </Popover>
      <Snackbar open={toast !== null} autoHideDuration={10_000} onClose={() => setToast(null)}>
        <Alert
          severity="info"
          role="status"
          onClose={() => setToast(null)}
          action={
            toast?.link ? (
              <Button color="inherit" size="small" onClick={() => toast && open(toast)}>
                {t("notifications.open")}
              </Button>
            ) : undefined
          }
        >
          {toast ? title(toast) : null}
        </Alert>
      </Snackbar>
    </>
  );
}
