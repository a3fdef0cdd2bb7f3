import AdminIcon from "@mui/icons-material/AdminPanelSettingsOutlined";
import CallIcon from "@mui/icons-material/CallOutlined";
import ProductsIcon from "@mui/icons-material/Inventory2Outlined";
import LanguageIcon from "@mui/icons-material/Translate";
import LogoutIcon from "@mui/icons-material/Logout";
import PeopleIcon from "@mui/icons-material/PeopleOutlined";
import TodayIcon from "@mui/icons-material/TodayOutlined";
import UploadIcon from "@mui/icons-material/UploadFileOutlined";
import {
  AppBar,
  Box,
  Button,
  IconButton,
  List,
  ListItem,
  ListItemButton,
  ListItemIcon,
  ListItemText,
  Menu,
  MenuItem,
  Toolbar,
  Tooltip,
  Typography,
} from "@mui/material";
import { type ReactNode, useState } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, Outlet, useNavigate } from "react-router";
import { useSession } from "../api/auth";
import { NotificationBell } from "../features/notifications/NotificationBell";
import { LANGUAGES, type Language, storeLanguage } from "../i18n";

const DRAWER = 232;

interface NavItem {
  to: string;
  label: string;
  icon: ReactNode;
}

/** The frame every signed-in page sits in: navigation for the user's role, language, sign out. */
export function Shell() {
  const { t, i18n } = useTranslation();
  const { user, logout } = useSession();
  const navigate = useNavigate();
  const [languageMenu, setLanguageMenu] = useState<HTMLElement | null>(null);
  const items: NavItem[] = [
    { to: "/agent/today", label: t("nav.today"), icon: <TodayIcon /> },
    { to: "/agent/leads", label: t("nav.leads"), icon: <PeopleIcon /> },
    { to: "/agent/calls", label: t("nav.calls"), icon: <CallIcon /> },
    { to: "/agent/products", label: t("nav.products"), icon: <ProductsIcon /> },
    { to: "/agent/import", label: t("nav.import"), icon: <UploadIcon /> },
  ];
  if (user?.role === "ADMIN") items.push({ to: "/admin", label: t("nav.admin"), icon: <AdminIcon /> });

  const choose = (language: Language) => {
    storeLanguage(user?.id ?? null, language);
    void i18n.changeLanguage(language);
    setLanguageMenu(null);
  };

  return (
    <Box sx={{ display: "flex", minHeight: "100vh" }}>
      <AppBar position="fixed" color="inherit" elevation={0} sx={{ borderBottom: 1, borderColor: "divider", zIndex: 1201 }}>
        <Toolbar sx={{ gap: 1 }}>
          <Typography variant="h6" component="span" sx={{ fontWeight: 700, color: "primary.main", flexGrow: 1 }}>
            Parley
          </Typography>
          <NotificationBell />
          <Tooltip title={t("shell.language")}>
            <IconButton
              aria-label={t("shell.language")}
              aria-haspopup="menu"
              onClick={(event) => setLanguageMenu(event.currentTarget)}
            >
              <LanguageIcon />
            </IconButton>
          </Tooltip>
          <Menu anchorEl={languageMenu} open={languageMenu !== null} onClose={() => setLanguageMenu(null)}>
            {LANGUAGES.map((language) => (
              <MenuItem
                key={language.code}
                selected={i18n.language === language.code}
                onClick={() => choose(language.code)}
                lang={language.code}
              >
                {language.label}
              </MenuItem>
            ))}
          </Menu>
          <Typography variant="body2" sx={{ color: "text.secondary", mx: 1 }}>
            {user?.name}
          </Typography>
          <Button
            color="inherit"
            startIcon={<LogoutIcon />}
            onClick={async () => {
              await logout();
              navigate("/login", { replace: true });
            }}
          >
            {t("shell.logout")}
          </Button>
        </Toolbar>
      </AppBar>
      <Box
        component="nav"
        aria-label={t("shell.navigation")}
        sx={{ width: DRAWER, flexShrink: 0, borderInlineEnd: 1, borderColor: "divider", pt: 9, bgcolor: "background.paper" }}
      >
        <List>
          {items.map((item) => (
            <ListItem key={item.to} disablePadding>
              <ListItemButton
                component={NavLink}
                to={item.to}
                sx={{ "&.active": { bgcolor: "action.selected", fontWeight: 600 } }}
              >
                <ListItemIcon>{item.icon}</ListItemIcon>
                <ListItemText primary={item.label} />
              </ListItemButton>
            </ListItem>
          ))}
        </List>
      </Box>
      <Box component="main" sx={{ flexGrow: 1, p: 3, pt: 11, minWidth: 0 }}>
        <Outlet />
      </Box>
    </Box>
  );
}
