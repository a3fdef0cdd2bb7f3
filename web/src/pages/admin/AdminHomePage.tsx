import { Link as MuiLink, List, ListItem, Paper, Stack, Typography } from "@mui/material";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

/** The admin area's entry. Its pages (users, catalog, personas, models, system, dialer, audit,
 * insights) are the console's part 2; until then it points to what admins use today. */
export default function AdminHomePage() {
  const { t } = useTranslation();
  return (
    <Stack spacing={2}>
      <Typography variant="h5" component="h1">
        {t("admin.title")}
      </Typography>
      <Paper sx={{ p: 2 }}>
        <Typography gutterBottom>{t("admin.intro")}</Typography>
        <List>
          <ListItem>
            <MuiLink component={Link} to="/agent/leads">
              {t("admin.allLeads")}
            </MuiLink>
          </ListItem>
          <ListItem>
            <MuiLink href="/api/docs">{t("admin.apiDocs")}</MuiLink>
          </ListItem>
        </List>
      </Paper>
    </Stack>
  );
}
