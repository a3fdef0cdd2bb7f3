import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { AGENT, server, signedIn } from "../server";
import { renderAt } from "../render";

test("the bell counts unread notifications; opening one marks it read and goes to its lead", async () => {
  const reminder = {
    id: "0b5e7a52-5f06-4c2a-9a55-3f1c1c2c0001",
    user_id: AGENT.id,
    kind: "reminder_due",
    title: "Call reminder: a call is due at 2026-12-08T15:00:00+00:00",
    lead_id: "7c1b7a52-5f06-4c2a-9a55-3f1c1c2c0002",
    link: "/agent/leads/7c1b7a52-5f06-4c2a-9a55-3f1c1c2c0002",
    created_at: "2026-12-08T14:45:00Z",
    read_at: null as string | null,
    source_event_id: "1c1b7a52-5f06-4c2a-9a55-3f1c1c2c0003",
  };
  server.use(
    signedIn(),
    http.get("/api/notifications", () =>
      HttpResponse.json({ items: [reminder], total: 1, page: 1, page_size: 10, unread: reminder.read_at ? 0 : 1 }),
    ),
    http.post(`/api/notifications/${reminder.id}/read`, () => {
      reminder.read_at = "2026-12-08T14:50:00Z";
      return HttpResponse.json(reminder);
    }),
    http.get("/api/leads/pipeline", () => HttpResponse.json({ counts: [], total: 0 })),
    http.get("/api/scheduler/queue", () =>
      HttpResponse.json({ items: [], total: 0, page: 1, page_size: 100, day: "2026-12-08", timezone: "UTC" }),
    ),
    http.get("/api/scheduler/tasks", () => HttpResponse.json({ items: [], total: 0, page: 1, page_size: 200 })),
    http.get(`/api/leads/${reminder.lead_id}`, () => HttpResponse.json({ detail: "gone" }, { status: 404 })),
    http.get(`/api/leads/${reminder.lead_id}/activities`, () => HttpResponse.json({ detail: "gone" }, { status: 404 })),
    http.get(`/api/scheduler/leads/${reminder.lead_id}`, () => HttpResponse.json({ detail: "gone" }, { status: 404 })),
  );
  const { router } = renderAt("/agent/today");
  const bell = await screen.findByRole("button", { name: "Notifications, 1 unread" });
  await userEvent.click(bell);
  const panel = await screen.findByRole("dialog", { name: "Notifications" });
  await userEvent.click(within(panel).getByText("A call is due soon"));
  await waitFor(() => expect(router.state.location.pathname).toBe(`/agent/leads/${reminder.lead_id}`));
  expect(await screen.findByRole("button", { name: "Notifications, 0 unread" })).toBeInTheDocument();
});
