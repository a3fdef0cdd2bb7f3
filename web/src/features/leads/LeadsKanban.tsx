import {
  DndContext,
  type DragEndEvent,
  KeyboardSensor,
  PointerSensor,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
} from "@dnd-kit/core";
import MoreIcon from "@mui/icons-material/MoreVert";
import {
  Alert,
  Box,
  Card,
  CardContent,
  Chip,
  IconButton,
  Menu,
  MenuItem,
  Paper,
  Snackbar,
  Stack,
  Typography,
} from "@mui/material";
import { useQueries, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { LEAD_STATUSES, type Lead, type LeadStatus } from "../../api/types";
import { ErrorAlert } from "../../components/PageState";
import { type LeadQuery, leadKeys, useUpdateLead } from "./queries";

const PER_COLUMN = 30;

type Move = (lead: Lead, target: LeadStatus) => void;

function LeadCard({ lead, onMove }: { lead: Lead; onMove: Move }) {
  const { t } = useTranslation();
  const [menu, setMenu] = useState<HTMLElement | null>(null);
  const { attributes, listeners, setNodeRef, transform, isDragging } = useDraggable({
    id: lead.id,
    data: { lead },
  });
  return (
    <Card
      ref={setNodeRef}
      {...attributes}
      {...listeners}
      aria-roledescription={t("kanban.card")}
      aria-label={lead.name}
      data-testid={`kanban-card-${lead.id}`}
      sx={{
        cursor: "grab",
        opacity: isDragging ? 0.6 : 1,
        transform: transform ? `translate3d(${transform.x}px, ${transform.y}px, 0)` : undefined,
        zIndex: isDragging ? 10 : "auto",
        position: "relative",
      }}
    >
      <CardContent sx={{ py: 1.5, "&:last-child": { pb: 1.5 }, position: "relative" }}>
        {/* The same move without dragging: for keyboards and screen readers. */}
        <IconButton
          size="small"
          aria-label={t("kanban.moveTo", { name: lead.name })}
          onPointerDown={(event) => event.stopPropagation()}
          onKeyDown={(event) => event.stopPropagation()}
          onClick={(event) => setMenu(event.currentTarget)}
          sx={{ position: "absolute", top: 4, insetInlineEnd: 4 }}
        >
          <MoreIcon fontSize="small" />
        </IconButton>
        <Menu anchorEl={menu} open={menu !== null} onClose={() => setMenu(null)}>
          {LEAD_STATUSES.filter((status) => status !== lead.status).map((status) => (
            <MenuItem
              key={status}
              onClick={() => {
                setMenu(null);
                onMove(lead, status);
              }}
            >
              {t(`status.${status}`)}
            </MenuItem>
          ))}
        </Menu>
        <Typography variant="body2" sx={{ fontWeight: 600, paddingInlineEnd: 4 }}>
          <Link to={`/agent/leads/${lead.id}`} onPointerDown={(event) => event.stopPropagation()}>
            {lead.name}
          </Link>
        </Typography>
        <Typography variant="caption" color="text.secondary" dir="ltr" component="div">
          {lead.phone}
        </Typography>
        {lead.consent_flags.dnd ? <Chip size="small" color="warning" label={t("leads.dndChip")} /> : null}
      </CardContent>
    </Card>
  );
}

function Column({ status, leads, total, onMove }: { status: LeadStatus; leads: Lead[]; total: number; onMove: Move }) {
  const { t } = useTranslation();
  const { setNodeRef, isOver } = useDroppable({ id: status });
  return (
    <Paper
      ref={setNodeRef}
      component="section"
      aria-label={t(`status.${status}`)}
      data-testid={`kanban-column-${status}`}
      sx={{ p: 1, minWidth: 220, flex: "1 0 220px", bgcolor: isOver ? "action.hover" : "background.paper" }}
    >
      <Stack direction="row" sx={{ justifyContent: "space-between", px: 1, pb: 1 }}>
        <Typography variant="subtitle2" component="h2">
          {t(`status.${status}`)}
        </Typography>
        <Typography variant="caption" color="text.secondary">
          {total}
        </Typography>
      </Stack>
      <Stack spacing={1} sx={{ minHeight: 80 }}>
        {leads.map((lead) => (
          <LeadCard key={lead.id} lead={lead} onMove={onMove} />
        ))}
      </Stack>
    </Paper>
  );
}

/** Leads by status; dropping a card on a column changes the lead's status through the API, and a
 * refused move goes back where it was with the API's reason. */
export function LeadsKanban({ query }: { query: LeadQuery }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const update = useUpdateLead();
  const [refusal, setRefusal] = useState<string | null>(null);
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 6 } }), useSensor(KeyboardSensor));
  const columns = LEAD_STATUSES.filter((status) => !query.status?.length || query.status.includes(status));
  const columnQuery = (status: LeadStatus): LeadQuery => ({ ...query, status: [status], page: 1, page_size: PER_COLUMN });
  const results = useQueries({
    queries: columns.map((status) => ({
      queryKey: leadKeys.list(columnQuery(status)),
      queryFn: async () =>
        unwrap(await api.GET("/api/leads", { params: { query: columnQuery(status) as never } })),
    })),
  });
  const failed = results.find((result) => result.error);
  if (failed) return <ErrorAlert error={failed.error} />;

  const move = async (lead: Lead, target: LeadStatus) => {
    if (target === lead.status) return;
    const from = leadKeys.list(columnQuery(lead.status));
    const to = leadKeys.list(columnQuery(target));
    type PageData = { items: Lead[]; total: number };
    const before = { from: client.getQueryData<PageData>(from), to: client.getQueryData<PageData>(to) };
    // Move it now; the API decides.
    client.setQueryData<PageData>(from, (page) =>
      page ? { ...page, items: page.items.filter((item) => item.id !== lead.id), total: page.total - 1 } : page,
    );
    client.setQueryData<PageData>(to, (page) =>
      page ? { ...page, items: [{ ...lead, status: target }, ...page.items], total: page.total + 1 } : page,
    );
    try {
      await update.mutateAsync({ id: lead.id, patch: { status: target } });
    } catch (error) {
      client.setQueryData(from, before.from);
      client.setQueryData(to, before.to);
      setRefusal(t("kanban.refused", { name: lead.name, reason: error instanceof Error ? error.message : "" }));
    }
  };
  const onDragEnd = (event: DragEndEvent) => {
    const lead = event.active.data.current?.lead as Lead | undefined;
    const target = event.over?.id as LeadStatus | undefined;
    if (lead && target) void move(lead, target);
  };

  return (
    <>
      <DndContext sensors={sensors} onDragEnd={onDragEnd}>
        <Box sx={{ display: "flex", gap: 2, overflowX: "auto", pb: 2, alignItems: "flex-start" }}>
          {columns.map((status, index) => (
            <Column
              key={status}
              status={status}
              leads={results[index]?.data?.items ?? []}
              total={results[index]?.data?.total ?? 0}
              onMove={(lead, target) => void move(lead, target)}
            />
          ))}
        </Box>
      </DndContext>
      <Snackbar open={refusal !== null} autoHideDuration={8000} onClose={() => setRefusal(null)}>
        <Alert severity="error" onClose={() => setRefusal(null)} role="alert">
          {refusal}
        </Alert>
      </Snackbar>
    </>
  );
}
