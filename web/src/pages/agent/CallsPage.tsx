import {
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TablePagination,
  TableRow,
  Typography,
} from "@mui/material";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { PageState } from "../../components/PageState";
import { type Session, useSessions } from "../../features/calls/queries";
import { formatDateTime, formatMoney } from "../../lib/format";

export function callDuration(session: Session): number | null {
  if (!session.started_at || !session.ended_at) return null;
  return Math.max(0, Math.round((Date.parse(session.ended_at) - Date.parse(session.started_at)) / 1000));
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return "—";
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** The agent's calls, newest first: mode, outcome, duration, cost. */
export default function CallsPage() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const page = Number(params.get("page") ?? "1");
  const pageSize = Number(params.get("page_size") ?? "25");
  const sessions = useSessions({ page, page_size: pageSize });
  return (
    <Stack spacing={2}>
      <Typography variant="h5" component="h1">
        {t("calls.title")}
      </Typography>
      <PageState
        loading={sessions.isPending}
        error={sessions.error}
        empty={sessions.data?.items.length === 0}
        emptyText={t("calls.none")}
        onRetry={() => void sessions.refetch()}
      >
        <Paper>
          <TableContainer>
            <Table size="small" aria-label={t("calls.title")}>
              <TableHead>
                <TableRow>
                  {(["when", "mode", "status", "outcome", "duration", "cost"] as const).map((column) => (
                    <TableCell key={column}>{t(`calls.column.${column}`)}</TableCell>
                  ))}
                </TableRow>
              </TableHead>
              <TableBody>
                {sessions.data?.items.map((session) => (
                  <TableRow key={session.id} hover>
                    <TableCell>
                      <Link to={`/agent/calls/${session.id}`}>{formatDateTime(session.created_at, i18n.language)}</Link>
                    </TableCell>
                    <TableCell>{t(`calls.mode.${session.mode}`)}</TableCell>
                    <TableCell>{t(`calls.status.${session.status}`, { defaultValue: session.status })}</TableCell>
                    <TableCell>{session.outcome ? t(`outcome.${session.outcome}`, { defaultValue: session.outcome }) : "—"}</TableCell>
                    <TableCell>{formatDuration(callDuration(session))}</TableCell>
                    <TableCell>
                      {session.estimated_cost_usd != null ? formatMoney(session.estimated_cost_usd, "USD", i18n.language) : "—"}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
          <TablePagination
            component="div"
            count={sessions.data?.total ?? 0}
            page={page - 1}
            rowsPerPage={pageSize}
            rowsPerPageOptions={[25, 50, 100]}
            onPageChange={(_, next) => setParams({ page: String(next + 1), page_size: String(pageSize) })}
            onRowsPerPageChange={(event) => setParams({ page: "1", page_size: event.target.value })}
            labelRowsPerPage={t("leads.perPage")}
          />
        </Paper>
      </PageState>
    </Stack>
  );
}
