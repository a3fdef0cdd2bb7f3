import {
  Alert,
  Button,
  FormControl,
  FormControlLabel,
  InputLabel,
  MenuItem,
  Paper,
  Radio,
  RadioGroup,
  Select,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from "@mui/material";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, api, unwrap } from "../../api/client";
import type { ImportReport } from "../../api/types";
import { ErrorAlert } from "../../components/PageState";
import { leadKeys } from "../../features/leads/queries";

const FIELDS = [
  "name", "first_name", "last_name", "phone", "email", "location", "age", "income_band", "notes", "source",
  "timezone", "preferred_days", "preferred_start", "preferred_end", "dnd", "email_opt_out", "call_recording",
] as const;

function firstLine(text: string): string[] {
  const line = text.split(/\r?\n/, 1)[0] ?? "";
  return line.split(",").map((cell) => cell.trim().replace(/^"|"$/g, ""));
}

async function send(file: File, options: { dryRun: boolean; mode: string; mapping: Record<string, string> }) {
  const form = new FormData();
  form.append("file", file);
  form.append("mode", options.mode);
  form.append("dry_run", String(options.dryRun));
  if (Object.keys(options.mapping).length) form.append("mapping", JSON.stringify(options.mapping));
  const result = await api.POST("/api/leads/import", {
    body: form as unknown as never,
    bodySerializer: (body) => body as unknown as FormData,
  });
  try {
    return unwrap(result) as ImportReport;
  } catch (error) {
    // A strict import with broken rows answers 422 with the full report: show it like a preview.
    if (error instanceof ApiError && error.problem.report) return error.problem.report as ImportReport;
    throw error;
  }
}

/** CSV import: pick a file, check the mapping and the rows (nothing written), then import. */
export default function ImportPage() {
  const { t } = useTranslation();
  const client = useQueryClient();
  // The bytes read when the file was picked: the import sends exactly what was checked, even if the
  // file changes on disk in between.
  const [file, setFile] = useState<File | null>(null);
  const [headers, setHeaders] = useState<string[]>([]);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [mode, setMode] = useState("strict");
  const preview = useMutation({ mutationFn: () => send(file as File, { dryRun: true, mode, mapping }) });
  const run = useMutation({
    mutationFn: () => send(file as File, { dryRun: false, mode, mapping }),
    onSuccess: () => void client.invalidateQueries({ queryKey: leadKeys.all }),
  });
  const report = run.data ?? preview.data;
  const detected = preview.data?.header_mapping ?? {};

  const choose = async (picked: File | null) => {
    setMapping({});
    preview.reset();
    run.reset();
    if (!picked) {
      setFile(null);
      setHeaders([]);
      return;
    }
    const bytes = await picked.arrayBuffer();
    setFile(new File([bytes], picked.name, { type: picked.type || "text/csv" }));
    setHeaders(firstLine(new TextDecoder().decode(bytes.slice(0, 64 * 1024))));
  };

  return (
    <Stack spacing={2}>
      <Typography variant="h5" component="h1">
        {t("import.title")}
      </Typography>
      <Paper sx={{ p: 2 }}>
        <Stack spacing={2}>
          <Stack direction="row" spacing={2} sx={{ alignItems: "center" }}>
            <Button variant="outlined" component="label">
              {t("import.choose")}
              <input
                hidden
                type="file"
                accept=".csv,text/csv"
                aria-label={t("import.choose")}
                onChange={(event) => void choose(event.target.files?.[0] ?? null)}
              />
            </Button>
            <Typography variant="body2">{file?.name ?? t("import.noFile")}</Typography>
          </Stack>
          <FormControl>
            <Typography variant="body2" id="import-mode">
              {t("import.mode")}
            </Typography>
            <RadioGroup row aria-labelledby="import-mode" value={mode} onChange={(event) => setMode(event.target.value)}>
              <FormControlLabel value="strict" control={<Radio />} label={t("import.strict")} />
              <FormControlLabel value="skip_invalid" control={<Radio />} label={t("import.skipInvalid")} />
            </RadioGroup>
          </FormControl>
          {headers.length ? (
            <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: "wrap" }} aria-label={t("import.mapping")}>
              {headers.map((header) => (
                <FormControl key={header} size="small" sx={{ minWidth: 160 }}>
                  <InputLabel id={`map-${header}`}>{header}</InputLabel>
                  <Select
                    labelId={`map-${header}`}
                    label={header}
                    value={mapping[header] ?? detected[header] ?? ""}
                    onChange={(event) => setMapping({ ...mapping, [header]: event.target.value })}
                  >
                    <MenuItem value="">{t("import.ignore")}</MenuItem>
                    {FIELDS.map((field) => (
                      <MenuItem key={field} value={field}>
                        {field}
                      </MenuItem>
                    ))}
                  </Select>
                </FormControl>
              ))}
            </Stack>
          ) : null}
          <Stack direction="row" spacing={1}>
            <Button variant="outlined" disabled={!file || preview.isPending} onClick={() => preview.mutate()}>
              {t("import.check")}
            </Button>
            <Button variant="contained" disabled={!file || !preview.data || run.isPending} onClick={() => run.mutate()}>
              {t("import.run")}
            </Button>
          </Stack>
        </Stack>
      </Paper>
      {preview.error ? <ErrorAlert error={preview.error} /> : null}
      {run.error ? <ErrorAlert error={run.error} /> : null}
      {report ? (
        <Paper sx={{ p: 2 }} component="section" aria-label={t("import.report")}>
          <Stack spacing={2}>
            {run.data ? (
              <Alert severity={run.data.imported ? "success" : "warning"} role="status">
                {t("import.imported", { count: run.data.imported, total: run.data.total_rows })}
              </Alert>
            ) : (
              <Alert severity={report.errors.length ? "warning" : "info"} role="status">
                {t("import.checked", { total: report.total_rows, errors: report.errors.length, duplicates: report.duplicates.length })}
              </Alert>
            )}
            {report.errors.length + report.duplicates.length ? (
              <Table size="small" aria-label={t("import.problems")}>
                <TableHead>
                  <TableRow>
                    <TableCell>{t("import.line")}</TableCell>
                    <TableCell>{t("import.column")}</TableCell>
                    <TableCell>{t("import.problem")}</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {[...report.errors, ...report.duplicates].map((row, index) => (
                    <TableRow key={`${row.line}-${index}`}>
                      <TableCell>{row.line}</TableCell>
                      <TableCell>{row.column ?? "—"}</TableCell>
                      <TableCell>{row.message}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            ) : null}
            {report.rows?.length ? (
              <Table size="small" aria-label={t("import.preview")}>
                <TableHead>
                  <TableRow>
                    <TableCell>{t("import.line")}</TableCell>
                    <TableCell>{t("leads.column.name")}</TableCell>
                    <TableCell>{t("leads.column.phone")}</TableCell>
                    <TableCell>{t("leads.column.timezone")}</TableCell>
                    <TableCell>{t("import.timezoneSource")}</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {(report.rows ?? []).map((row) => (
                    <TableRow key={row.line}>
                      <TableCell>{row.line}</TableCell>
                      <TableCell>{row.name}</TableCell>
                      <TableCell dir="ltr">{row.phone}</TableCell>
                      <TableCell>
                        {row.timezone_candidates.length > 1
                          ? t("leads.zones", { count: row.timezone_candidates.length })
                          : row.timezone}
                      </TableCell>
                      <TableCell>{t(`timezoneSource.${row.timezone_source}`)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            ) : null}
          </Stack>
        </Paper>
      ) : null}
    </Stack>
  );
}
