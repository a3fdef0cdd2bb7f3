import { Alert, Box, Chip, Link as MuiLink, Paper, Stack, Typography } from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { ApiError, api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { ErrorAlert } from "../../components/PageState";
import { formatMoney } from "../../lib/format";

type Needs = components["schemas"]["NeedsProfile"];

function NeedsView({ needs }: { needs: Needs }) {
  const { t, i18n } = useTranslation();
  const budget = needs.budget_range;
  const facts: [string, string | null][] = [
    [t("insights.cover"), needs.coverage_type.join(", ") || null],
    [t("insights.age"), needs.age != null ? String(needs.age) : null],
    [
      t("insights.dependents"),
      needs.dependents.length
        ? needs.dependents.map((d) => (d.age != null ? `${d.relation} (${d.age})` : d.relation)).join(", ")
        : null,
    ],
    [
      t("insights.budget"),
      budget?.max != null && budget.currency
        ? `${formatMoney(budget.max, budget.currency, i18n.language)} ${t(`products.period.${budget.period}`, { defaultValue: "" })}`
        : null,
    ],
    [t("insights.urgency"), needs.urgency ?? null],
    [t("insights.health"), needs.health_notes ?? null],
    [t("insights.email"), needs.email ?? null],
  ];
  return (
    <Box sx={{ display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.5 }}>
      {facts.map(([label, value]) => (
        <Box key={label} sx={{ display: "contents" }}>
          <Typography variant="body2" color="text.secondary">
            {label}
          </Typography>
          <Typography variant="body2">{value ?? "—"}</Typography>
        </Box>
      ))}
    </Box>
  );
}

/** What this call established: the needs extracted from it and the products recommended from them,
 * with why and where each claim comes from. */
export function CallInsights({ callId, ended }: { callId: string; ended: boolean }) {
  const { t } = useTranslation();
  const results = useQuery({
    queryKey: ["rag", "call", callId],
    queryFn: async () => {
      try {
        return unwrap(await api.GET("/api/rag/calls/{call_id}", { params: { path: { call_id: callId } } }));
      } catch (error) {
        // A call rag never got (still running, or no conversation) has nothing to show yet.
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    enabled: ended,
    refetchInterval: (query) => (query.state.data?.status === "pending" || query.state.data === null ? 2000 : false),
  });
  const data = results.data;
  return (
    <>
      <Paper sx={{ p: 2 }} component="section" aria-labelledby="needs-heading">
        <Typography id="needs-heading" variant="subtitle1" component="h2" gutterBottom>
          {t("insights.needs")}
        </Typography>
        {results.error ? <ErrorAlert error={results.error} /> : null}
        {data?.needs ? (
          <NeedsView needs={data.needs} />
        ) : (
          <Typography variant="body2" color="text.secondary">
            {ended ? t("insights.working") : t("insights.afterCall")}
          </Typography>
        )}
      </Paper>
      <Paper sx={{ p: 2 }} component="section" aria-labelledby="recommendations-heading">
        <Typography id="recommendations-heading" variant="subtitle1" component="h2" gutterBottom>
          {t("insights.recommendations")}
        </Typography>
        {data?.recommendation?.nothing_fits ? (
          <Alert severity="info">{data.recommendation.nothing_fits_reason ?? t("insights.nothingFits")}</Alert>
        ) : null}
        {data?.recommendation ? (
          <Stack spacing={2}>
            {data.recommendation.items.map((item) => (
              <Box key={item.product_id} component="article" aria-label={item.name}>
                <Stack direction="row" spacing={1} sx={{ alignItems: "center" }}>
                  <Typography variant="subtitle2" component="h3">
                    {item.name}
                  </Typography>
                  <Chip size="small" label={item.insurer} />
                </Stack>
                <Typography variant="body2" sx={{ my: 0.5 }}>
                  {item.rationale}
                </Typography>
                {item.citations.length ? (
                  <Box component="ul" sx={{ m: 0, pl: 2 }} aria-label={t("insights.sources")}>
                    {item.citations.map((citation) => (
                      <li key={citation.chunk_id}>
                        <Typography variant="caption" component="span">
                          “{citation.excerpt}” —{" "}
                          {citation.document_id ? (
                            <MuiLink href={`/api/products/documents/${citation.document_id}/download`}>
                              {citation.source}
                            </MuiLink>
                          ) : (
                            citation.source
                          )}
                        </Typography>
                      </li>
                    ))}
                  </Box>
                ) : null}
              </Box>
            ))}
          </Stack>
        ) : !data?.recommendation?.nothing_fits ? (
          <Typography variant="body2" color="text.secondary">
            {ended ? t("insights.working") : t("insights.afterCall")}
          </Typography>
        ) : null}
      </Paper>
    </>
  );
}
