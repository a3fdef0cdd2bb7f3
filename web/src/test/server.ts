import { setupServer } from "msw/node";
import { HttpResponse, http } from "msw";
import type { components } from "../api/schema";

type Schemas = components["schemas"];
export type Lead = Schemas["LeadOut"];

// Answered on every page (the bell in the frame); tests that care override it.
const frame = [
  http.get("/api/notifications", () => HttpResponse.json({ items: [], total: 0, page: 1, page_size: 10, unread: 0 })),
];

export const server = setupServer(...frame);

export const AGENT: Schemas["UserOut"] = {
  id: "00000000-0000-4000-8000-0000000a9001",
  email: "agent@example.com",
  name: "Avery Agent",
  role: "AGENT",
  active: true,
  created_at: "2026-12-01T09:00:00Z",
};

export function lead(overrides: Partial<Lead> = {}): Lead {
  return {
    id: crypto.randomUUID(),
    name: "Maya Cohen",
    phone: "+12125550123",
    email: "maya@example.com",
    location: "New York",
    age: 29,
    income_band: null,
    notes: null,
    source: "web",
    status: "NEW",
    preferred_time_windows: [],
    timezone: "America/New_York",
    timezone_source: "from_phone",
    timezone_candidates: ["America/New_York"],
    country: "US",
    consent_flags: { dnd: false, email_opt_out: false, call_recording: false },
    assigned_agent_id: AGENT.id,
    created_at: "2026-12-01T09:00:00Z",
    updated_at: "2026-12-01T09:00:00Z",
    ...overrides,
  };
}

/** A problem+json answer, as every service gives it. */
export function problem(status: number, detail: string, extra: Record<string, unknown> = {}) {
  return HttpResponse.json(
    { type: "about:blank", title: "Error", status, detail, ...extra },
    { status, headers: { "content-type": "application/problem+json", "x-request-id": "req-123" } },
  );
}

export const signedIn = (user: Schemas["UserOut"] = AGENT) => http.get("/api/auth/me", () => HttpResponse.json(user));
export const signedOut = () => http.get("/api/auth/me", () => problem(401, "Not authenticated."));
