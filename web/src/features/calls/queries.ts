import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type Session = components["schemas"]["SessionOut"];
export type Line = components["schemas"]["LineOut"];

export const callKeys = {
  list: (query: object) => ["calls", "list", query] as const,
  one: (id: string) => ["calls", "one", id] as const,
};

export function useSessions(query: { lead_id?: string; page: number; page_size: number }) {
  return useQuery({
    queryKey: callKeys.list(query),
    queryFn: async () => unwrap(await api.GET("/api/voice/sessions", { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

export function useSession(id: string) {
  return useQuery({
    queryKey: callKeys.one(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/voice/sessions/{session_id}", { params: { path: { session_id: id } } })),
  });
}

/** Start a call for a lead: simulated (the agent plays the prospect) or on the phone. */
export function useStartCall() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: { lead_id: string; mode: "simulated" | "phone" }) =>
      unwrap(await api.POST("/api/voice/sessions", { body: { ...body, override_calling_hours: false } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["calls"] }),
  });
}

export interface LiveTranscript {
  lines: Line[];
  ended: boolean;
  connected: boolean;
}

/** The call's transcript as it happens, over the voice-bridge's websocket (the session cookie
 * authenticates it): stored lines first, then each new one, then `ended`. Reconnects after a drop and
 * merges by `seq`, so nothing shows twice or goes missing. */
export function useLiveTranscript(sessionId: string): LiveTranscript {
  const [state, setState] = useState<LiveTranscript>({ lines: [], ended: false, connected: false });
  useEffect(() => {
    let socket: WebSocket | null = null;
    let stopped = false;
    let retry: number | undefined;
    const connect = () => {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${window.location.host}/api/voice/sessions/${sessionId}/live`);
      socket.onopen = () => setState((current) => ({ ...current, connected: true }));
      socket.onmessage = (message: MessageEvent<string>) => {
        const data = JSON.parse(message.data) as ({ type: "line" } & Line) | { type: "ended" };
        if (data.type === "ended") {
          stopped = true;
          setState((current) => ({ ...current, ended: true }));
          return;
        }
        const { type: _type, ...line } = data;
        setState((current) =>
          current.lines.some((known) => known.seq === line.seq)
            ? current
            : { ...current, lines: [...current.lines, line].sort((a, b) => a.seq - b.seq) },
        );
      };
      socket.onclose = (event) => {
        setState((current) => ({ ...current, connected: false }));
        // 4401/4403: not allowed, asking again will not help; 1000 after `ended`: done.
        if (!stopped && event.code !== 4401 && event.code !== 4403) retry = window.setTimeout(connect, 1500);
      };
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      socket?.close();
    };
  }, [sessionId]);
  return state;
}
