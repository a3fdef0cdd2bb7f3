import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { AGENT, server, signedIn } from "../server";
import { renderAt } from "../render";

function task(at: Date, name: string) {
  return {
    id: crypto.randomUUID(),
    lead_id: crypto.randomUUID(),
    lead_name: name,
    agent_id: AGENT.id,
    kind: "MANUAL",
    status: "PENDING",
    scheduled_for: at.toISOString(),
    window_end: null,
    attempt: 1,
    priority: 20,
    mode: "phone",
    outcome: null,
    reason: null,
    note: null,
    dispatched_at: null,
    completed_at: null,
    created_at: at.toISOString(),
    updated_at: at.toISOString(),
  };
}

test("Today: the pipeline, the day's queue and the week's calls, where a call's outcome is recorded", async () => {
  const soon = new Date();
  soon.setHours(Math.min(soon.getHours() + 1, 20), 0, 0, 0);
  const booked = task(soon, "Maya Cohen");
  const completed: unknown[] = [];
  server.use(
    signedIn(),
    http.get("/api/leads/pipeline", () =>
      HttpResponse.json({ counts: [{ status: "NEW", count: 7 }, { status: "QUALIFIED", count: 2 }], total: 9 }),
    ),
    http.get("/api/scheduler/queue", () =>
      HttpResponse.json({
        items: [{ ...booked, due: false, local_time: "2026-12-08T10:00:00-05:00", answered_at_this_hour: 0, missed_at_this_hour: 0 }],
        total: 1,
        page: 1,
        page_size: 100,
        day: "2026-12-08",
        timezone: "UTC",
      }),
    ),
    http.get("/api/scheduler/tasks", () => HttpResponse.json({ items: [booked], total: 1, page: 1, page_size: 200 })),
    http.post(`/api/scheduler/tasks/${booked.id}/complete`, async ({ request }) => {
      completed.push(await request.json());
      return HttpResponse.json({ task: { ...booked, status: "DONE" }, decision: "COMPLETED", stop_reason: null, next_task: null });
    }),
  );
  renderAt("/agent/today");
  const pipeline = await screen.findByRole("region", { name: "Pipeline" });
  expect(await within(pipeline).findByText("7")).toBeInTheDocument();
  const queue = screen.getByRole("region", { name: "Calls today" });
  expect(await within(queue).findByText(/10:00 AM theirs/)).toBeInTheDocument();
  const week = screen.getByRole("region", { name: "This week's calls" });
  await userEvent.click(await within(week).findByRole("button", { name: /Maya Cohen/ }));
  const dialog = await screen.findByRole("dialog");
  await userEvent.click(within(dialog).getByRole("combobox"));
  await userEvent.click(screen.getByRole("option", { name: "No answer" }));
  await userEvent.click(within(dialog).getByRole("button", { name: "Record the outcome" }));
  await waitFor(() => expect(completed).toEqual([{ outcome: "NO_ANSWER", notes: null, callback_at: null }]));
});
