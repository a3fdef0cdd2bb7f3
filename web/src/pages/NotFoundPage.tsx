import { Box, Button, Typography } from "@mui/material";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

export default function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <Box component="main" sx={{ maxWidth: 520, mx: "auto", py: 12, textAlign: "center" }}>
      <Typography variant="h4" component="h1" gutterBottom>
        {t("notFound.title")}
      </Typography>
      <Button component={Link} to="/" variant="contained">
        {t("forbidden.back")}
      </Button>
    </Box>
  );
}
