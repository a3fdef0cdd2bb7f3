import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, createContext, useCallback, useContext, useEffect, useMemo } from "react";
import { useTranslation } from "react-i18next";
import { type Language, storedLanguage } from "../i18n";
import { ApiError, api, unwrap } from "./client";
import type { Me } from "./types";

interface Session {
  user: Me | null;
  loading: boolean;
  refresh: () => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);
export const ME_KEY = ["auth", "me"] as const;

/** Who is signed in, from the httpOnly cookie (the console never holds a token itself). */
export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const { i18n } = useTranslation();
  const me = useQuery({
    queryKey: ME_KEY,
    queryFn: async () => {
      try {
        return unwrap(await api.GET("/api/auth/me"));
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 5 * 60_000,
    retry: false,
  });
  const user = me.data ?? null;
  useEffect(() => {
    const language: Language | null = user ? storedLanguage(user.id) : null;
    if (language && language !== i18n.language) void i18n.changeLanguage(language);
  }, [user, i18n]);
  const refresh = useCallback(async () => {
    await client.invalidateQueries({ queryKey: ME_KEY });
  }, [client]);
  const logout = useCallback(async () => {
    await api.POST("/api/auth/logout");
    client.setQueryData(ME_KEY, null);
    client.removeQueries({ predicate: (query) => query.queryKey[0] !== "auth" });
  }, [client]);
  const value = useMemo(
    () => ({ user, loading: me.isPending, refresh, logout }),
    [user, me.isPending, refresh, logout],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
