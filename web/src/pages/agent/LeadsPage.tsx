import ViewKanbanIcon from "@mui/icons-material/ViewKanbanOutlined";
import ViewListIcon from "@mui/icons-material/ViewListOutlined";
import {
  Chip,
  FormControl,
  InputLabel,
  MenuItem,
  Paper,
  Select,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TablePagination,
  TableRow,
  TableSortLabel,
  TextField,
  ToggleButton,
  ToggleButtonGroup,
  Typography,
} from "@mui/material";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { LEAD_STATUSES, type LeadStatus } from "../../api/types";
import { PageState } from "../../components/PageState";
import { LeadsKanban } from "../../features/leads/LeadsKanban";
import { type LeadQuery, useLeads } from "../../features/leads/queries";
import { formatDateTime } from "../../lib/format";

const SORTABLE = ["name", "status", "age", "created_at"] as const;

function readQuery(params: URLSearchParams): LeadQuery {
  const flag = (name: string) => (params.has(name) ? params.get(name) === "true" : undefined);
  const number = (name: string) => (params.get(name) ? Number(params.get(name)) : undefined);
  const status = params.getAll("status") as LeadStatus[];
  const query: LeadQuery = {
    page: Number(params.get("page") ?? "1"),
    page_size: Number(params.get("page_size") ?? "25"),
    sort: params.get("sort") ?? "-created_at",
  };
  const q = params.get("q");
  if (q) query.q = q;
  if (status.length) query.status = status;
  const source = params.get("source");
  if (source) query.source = source;
  const hasEmail = flag("has_email");
  if (hasEmail !== undefined) query.has_email = hasEmail;
  const dnd = flag("dnd");
  if (dnd !== undefined) query.dnd = dnd;
  const ageMin = number("age_min");
  if (ageMin !== undefined) query.age_min = ageMin;
  const ageMax = number("age_max");
  if (ageMax !== undefined) query.age_max = ageMax;
  return query;
}

export default function LeadsPage() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const query = readQuery(params);
  const view = params.get("view") === "kanban" ? "kanban" : "table";
  const [search, setSearch] = useState(query.q ?? "");
  const leads = useLeads(query);

  const update = (changes: Record<string, string | string[] | null>, resetPage = true) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      next.delete(key);
      if (Array.isArray(value)) value.forEach((item) => next.append(key, item));
      else if (value !== null && value !== "") next.set(key, value);
    }
    if (resetPage) next.delete("page");
    setParams(next, { replace: true });
  };

  // Search as the agent types, once they pause (300 ms after the last key, whatever else re-renders).
  useEffect(() => {
    const timer = window.setTimeout(() => {
      setParams(
        (current) => {
          if ((current.get("q") ?? "") === search) return current;
          const next = new URLSearchParams(current);
          if (search) next.set("q", search);
          else next.delete("q");
          next.delete("page");
          return next;
        },
        { replace: true },
      );
    }, 300);
    return () => window.clearTimeout(timer);
  }, [search, setParams]);

  const sortField = (query.sort ?? "-created_at").replace(/^-/, "");
  const descending = (query.sort ?? "").startsWith("-");
  const flagValue = (name: "has_email" | "dnd") => (query[name] === undefined ? "" : String(query[name]));

  return (
    <Stack spacing={2}>
      <Stack direction="row" sx={{ alignItems: "center", justifyContent: "space-between" }}>
        <Typography variant="h5" component="h1">
          {t("leads.title")}
        </Typography>
        <ToggleButtonGroup
          size="small"
          exclusive
          value={view}
          onChange={(_, value: string | null) => value && update({ view: value === "table" ? null : value }, false)}
          aria-label={t("leads.view")}
        >
          <ToggleButton value="table" aria-label={t("leads.tableView")}>
            <ViewListIcon />
          </ToggleButton>
          <ToggleButton value="kanban" aria-label={t("leads.kanbanView")}>
            <ViewKanbanIcon />
          </ToggleButton>
        </ToggleButtonGroup>
      </Stack>
      <Paper sx={{ p: 2 }}>
        <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: "wrap" }}>
          <TextField
            size="small"
            label={t("leads.search")}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            sx={{ minWidth: 240 }}
          />
          <FormControl size="small" sx={{ minWidth: 200 }}>
            <InputLabel id="status-filter">{t("leads.status")}</InputLabel>
            <Select
              labelId="status-filter"
              label={t("leads.status")}
              multiple
              value={query.status ?? []}
              onChange={(event) => update({ status: event.target.value as string[] })}
              renderValue={(selected) => (selected as LeadStatus[]).map((s) => t(`status.${s}`)).join(", ")}
            >
              {LEAD_STATUSES.map((status) => (
                <MenuItem key={status} value={status}>
                  {t(`status.${status}`)}
                </MenuItem>
              ))}
            </Select>
          </FormControl>
          <TextField
            size="small"
            label={t("leads.source")}
            defaultValue={query.source ?? ""}
            onBlur={(event) => update({ source: event.target.value.trim() })}
          />
          <TextField
            size="small"
            type="number"
            label={t("leads.ageMin")}
            defaultValue={query.age_min ?? ""}
            onBlur={(event) => update({ age_min: event.target.value })}
            sx={{ width: 110 }}
            slotProps={{ htmlInput: { min: 0, max: 120 } }}
          />
          <TextField
            size="small"
            type="number"
            label={t("leads.ageMax")}
            defaultValue={query.age_max ?? ""}
            onBlur={(event) => update({ age_max: event.target.value })}
            sx={{ width: 110 }}
            slotProps={{ htmlInput: { min: 0, max: 120 } }}
          />
          {(["has_email", "dnd"] as const).map((name) => (
            <FormControl key={name} size="small" sx={{ minWidth: 150 }}>
              <InputLabel id={`${name}-filter`}>{t(`leads.${name}`)}</InputLabel>
              <Select
                labelId={`${name}-filter`}
                label={t(`leads.${name}`)}
                value={flagValue(name)}
                onChange={(event) => update({ [name]: event.target.value })}
              >
                <MenuItem value="">{t("leads.any")}</MenuItem>
                <MenuItem value="true">{t("leads.yes")}</MenuItem>
                <MenuItem value="false">{t("leads.no")}</MenuItem>
              </Select>
            </FormControl>
          ))}
        </Stack>
      </Paper>
      {view === "kanban" ? (
        <LeadsKanban query={query} />
      ) : (
        <PageState
          loading={leads.isPending}
          error={leads.error}
          empty={leads.data?.items.length === 0}
          emptyText={t("leads.none")}
          onRetry={() => void leads.refetch()}
        >
          <Paper>
            <TableContainer>
              <Table size="small" aria-label={t("leads.title")}>
                <TableHead>
                  <TableRow>
                    {(["name", "phone", "status", "age", "timezone", "created_at"] as const).map((column) => (
                      <TableCell key={column}>
                        {(SORTABLE as readonly string[]).includes(column) ? (
                          <TableSortLabel
                            active={sortField === column}
                            direction={sortField === column && descending ? "desc" : "asc"}
                            onClick={() =>
                              update({ sort: sortField === column && !descending ? `-${column}` : column })
                            }
                          >
                            {t(`leads.column.${column}`)}
                          </TableSortLabel>
                        ) : (
                          t(`leads.column.${column}`)
                        )}
                      </TableCell>
                    ))}
                  </TableRow>
                </TableHead>
                <TableBody>
                  {leads.data?.items.map((lead) => (
                    <TableRow key={lead.id} hover>
                      <TableCell>
                        <Link to={`/agent/leads/${lead.id}`}>{lead.name}</Link>
                        {lead.consent_flags.dnd ? (
                          <Chip size="small" color="warning" label={t("leads.dndChip")} sx={{ mx: 1 }} />
                        ) : null}
                      </TableCell>
                      <TableCell dir="ltr">{lead.phone}</TableCell>
                      <TableCell>{t(`status.${lead.status}`)}</TableCell>
                      <TableCell>{lead.age ?? "—"}</TableCell>
                      <TableCell>
                        {lead.timezone_candidates.length > 1 ? t("leads.zones", { count: lead.timezone_candidates.length }) : lead.timezone}
                      </TableCell>
                      <TableCell>{formatDateTime(lead.created_at, i18n.language)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
            <TablePagination
              component="div"
              count={leads.data?.total ?? 0}
              page={query.page - 1}
              rowsPerPage={query.page_size}
              rowsPerPageOptions={[25, 50, 100]}
              onPageChange={(_, page) => update({ page: String(page + 1) }, false)}
              onRowsPerPageChange={(event) => update({ page_size: event.target.value })}
              labelRowsPerPage={t("leads.perPage")}
            />
          </Paper>
        </PageState>
      )}
    </Stack>
  );
}
