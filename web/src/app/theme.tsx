import createCache from "@emotion/cache";
import { CacheProvider } from "@emotion/react";
import { CssBaseline, ThemeProvider, createTheme } from "@mui/material";
import { type ReactNode, useEffect, useMemo } from "react";
import { useTranslation } from "react-i18next";
import { prefixer } from "stylis";
import rtlPlugin from "stylis-plugin-rtl";
import { directionOf } from "../i18n";

const ltrCache = createCache({ key: "mui" });
// Right-to-left languages get their styles mirrored (margins, paddings, borders, positions).
const rtlCache = createCache({ key: "muirtl", stylisPlugins: [prefixer, rtlPlugin] });

/** MUI's theme in the reader's direction; the document follows (lang, dir). */
export function ConsoleTheme({ children }: { children: ReactNode }) {
  const { i18n } = useTranslation();
  const direction = directionOf(i18n.language);
  useEffect(() => {
    document.documentElement.dir = direction;
    document.documentElement.lang = i18n.language;
  }, [direction, i18n.language]);
  const theme = useMemo(
    () =>
      createTheme({
        direction,
        palette: {
          primary: { main: "#1f4e79" },
          secondary: { main: "#0f766e" },
          background: { default: "#f6f7f9" },
        },
        shape: { borderRadius: 8 },
        typography: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" },
        components: {
          MuiButton: { defaultProps: { disableElevation: true } },
          MuiPaper: { defaultProps: { variant: "outlined" } },
        },
      }),
    [direction],
  );
  return (
    <CacheProvider value={direction === "rtl" ? rtlCache : ltrCache}>
      <ThemeProvider theme={theme}>
        <CssBaseline />
        {children}
      </ThemeProvider>
    </CacheProvider>
  );
}
