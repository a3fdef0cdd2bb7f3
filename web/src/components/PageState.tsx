import { Alert, Box, CircularProgress, Typography } from "@mui/material";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";

/** The message of a failed call, with the request id support can look up. */
export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const message = error instanceof Error ? error.message : String(error);
  const requestId = error instanceof ApiError ? error.requestId : null;
  return (
    <Alert
      severity="error"
      role="alert"
      action={
        onRetry ? (
          <Typography component="button" onClick={onRetry} sx={{ all: "unset", cursor: "pointer", fontWeight: 600 }}>
            {t("common.retry")}
          </Typography>
        ) : undefined
      }
    >
      {message}
      {requestId ? (
        <Typography variant="caption" component="div" sx={{ opacity: 0.8 }}>
          {t("common.requestId", { id: requestId })}
        </Typography>
      ) : null}
    </Alert>
  );
}

interface PageStateProps {
  loading: boolean;
  error: unknown;
  empty?: boolean;
  emptyText?: string;
  onRetry?: () => void;
  children: ReactNode;
}

/** Loading, error and empty states, the same way on every page. */
export function PageState({ loading, error, empty, emptyText, onRetry, children }: PageStateProps) {
  const { t } = useTranslation();
  if (loading) {
    return (
      <Box sx={{ display: "flex", justifyContent: "center", py: 6 }} role="status" aria-live="polite">
        <CircularProgress aria-label={t("common.loading")} />
      </Box>
    );
  }
  if (error) return <ErrorAlert error={error} {...(onRetry ? { onRetry } : {})} />;
  if (empty) {
    return (
      <Typography color="text.secondary" sx={{ py: 6, textAlign: "center" }}>
        {emptyText ?? t("common.empty")}
      </Typography>
    );
  }
  return <>{children}</>;
}
