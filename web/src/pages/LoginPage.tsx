import { zodResolver } from "@hookform/resolvers/zod";
import { Box, Button, Paper, Stack, TextField, Typography } from "@mui/material";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { z } from "zod";
import { useSession } from "../api/auth";
import { api, fieldErrors, unwrap } from "../api/client";
import { ErrorAlert } from "../components/PageState";

const schema = z.object({ email: z.string().trim().email(), password: z.string().min(1) });
type LoginForm = z.infer<typeof schema>;

/** Only a path of this console: `next` must not send a user to another site after login. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export default function LoginPage() {
  const { t } = useTranslation();
  const { user, refresh } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [failure, setFailure] = useState<unknown>(null);
  const form = useForm<LoginForm>({ resolver: zodResolver(schema), defaultValues: { email: "", password: "" } });
  const next = safeNext(params.get("next"));
  if (user) return <Navigate to={next} replace />;

  const submit = form.handleSubmit(async (values) => {
    setFailure(null);
    try {
      unwrap(await api.POST("/api/auth/login", { body: values }));
      await refresh();
      navigate(next, { replace: true });
    } catch (error) {
      const fields = fieldErrors(error);
      for (const [name, message] of Object.entries(fields)) {
        if (name === "email" || name === "password") form.setError(name, { message });
      }
      setFailure(error);
    }
  });

  return (
    <Box component="main" sx={{ minHeight: "100vh", display: "grid", placeItems: "center", p: 2 }}>
      <Paper sx={{ p: 4, width: "100%", maxWidth: 400 }}>
        <Typography variant="h4" component="h1" sx={{ fontWeight: 700, color: "primary.main" }}>
          Parley
        </Typography>
        <Typography color="text.secondary" sx={{ mb: 3 }}>
          {t("login.subtitle")}
        </Typography>
        <form onSubmit={submit} noValidate>
          <Stack spacing={2}>
            {failure ? <ErrorAlert error={failure} /> : null}
            <TextField
              label={t("login.email")}
              type="email"
              autoComplete="username"
              autoFocus
              {...form.register("email")}
              error={Boolean(form.formState.errors.email)}
              helperText={form.formState.errors.email ? t("login.emailInvalid") : " "}
            />
            <TextField
              label={t("login.password")}
              type="password"
              autoComplete="current-password"
              {...form.register("password")}
              error={Boolean(form.formState.errors.password)}
              helperText={form.formState.errors.password ? t("login.passwordRequired") : " "}
            />
            <Button type="submit" variant="contained" size="large" disabled={form.formState.isSubmitting}>
              {t("login.submit")}
            </Button>
          </Stack>
        </form>
      </Paper>
    </Box>
  );
}
