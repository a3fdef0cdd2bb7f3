import { Box, Button, Typography } from "@mui/material";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

/** An agent opening an admin page: say so plainly and offer the way back. */
export default function ForbiddenPage() {
  const { t } = useTranslation();
  return (
    <Box component="main" sx={{ maxWidth: 520, mx: "auto", py: 12, textAlign: "center" }}>
      <Typography variant="overline" color="text.secondary">
        403
      </Typography>
      <Typography variant="h4" component="h1" gutterBottom>
        {t("forbidden.title")}
      </Typography>
      <Typography color="text.secondary" sx={{ mb: 3 }}>
        {t("forbidden.body")}
      </Typography>
      <Button component={Link} to="/" variant="contained">
        {t("forbidden.back")}
      </Button>
    </Box>
  );
}
