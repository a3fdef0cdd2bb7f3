import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { lead, server, signedIn } from "../server";
import { renderAt } from "../render";

const ambiguous = lead({
  name: "Tom Lee",
  timezone: "America/New_York",
  timezone_candidates: ["America/New_York", "America/Los_Angeles"],
  preferred_time_windows: [{ days: ["MON"], start: "09:00", end: "11:00" }],
});

function leadHandlers(patches: unknown[], notes: unknown[]) {
  return [
    signedIn(),
    http.get(`/api/leads/${ambiguous.id}`, () => HttpResponse.json(ambiguous)),
    http.patch(`/api/leads/${ambiguous.id}`, async ({ request }) => {
      const patch = (await request.json()) as Record<string, unknown>;
      patches.push(patch);
      return HttpResponse.json({ ...ambiguous, ...patch });
    }),
    http.get(`/api/leads/${ambiguous.id}/activities`, () =>
      HttpResponse.json({
        items: [
          {
            id: crypto.randomUUID(),
            lead_id: ambiguous.id,
            type: "TASK",
            summary: "Automatic calls stopped (timezone needed)",
            payload: {},
            actor_id: null,
            occurred_at: "2026-12-08T09:00:00Z",
          },
        ],
        total: 1,
        page: 1,
        page_size: 100,
      }),
    ),
    http.post(`/api/leads/${ambiguous.id}/activities`, async ({ request }) => {
      const body = (await request.json()) as { text: string };
      notes.push(body);
      return HttpResponse.json(
        { id: crypto.randomUUID(), lead_id: ambiguous.id, type: "NOTE", summary: body.text, payload: {}, actor_id: null, occurred_at: "2026-12-08T10:00:00Z" },
        { status: 201 },
      );
    }),
    http.get(`/api/scheduler/leads/${ambiguous.id}`, () =>
      HttpResponse.json({
        lead_id: ambiguous.id,
        timezone: "America/New_York",
        timezone_candidates: ["America/New_York", "America/Los_Angeles"],
        timezone_needed: true,
        country: "US",
        legal_hours: "Mon-Sun 08:00-21:00",
        dialing_stopped: "TIMEZONE_NEEDED",
        plan_error: null,
        callable_now: false,
        next_legal_time: null,
        next_task: null,
      }),
    ),
  ];
}

test("the lead page says where the lead may be, which hours are legal, and why calls stopped", async () => {
  server.use(...leadHandlers([], []));
  renderAt(`/agent/leads/${ambiguous.id}`);
  const card = await screen.findByRole("region", { name: "When to call" });
  expect(within(card).getByText("from the phone number")).toBeInTheDocument();
  expect(await within(card).findByText("Timezone needed")).toBeInTheDocument();
  expect(within(card).getByText(/could be in: New York, Los Angeles/)).toBeInTheDocument();
  expect(within(card).getByText("Legal calling hours: Mon-Sun 08:00-21:00")).toBeInTheDocument();
  expect(within(card).getByText(/the lead's timezone must be confirmed/)).toBeInTheDocument();
});

test("editing the preferred hours saves them as windows", async () => {
  const patches: unknown[] = [];
  server.use(...leadHandlers(patches, []));
  renderAt(`/agent/leads/${ambiguous.id}`);
  const save = await screen.findByRole("button", { name: "Save times" });
  expect(save).toBeDisabled();
  expect(screen.getByRole("button", { name: "Mon 9:00" })).toHaveAttribute("aria-pressed", "true");
  await userEvent.click(screen.getByRole("button", { name: "Mon 11:00" }));
  await userEvent.click(screen.getByRole("button", { name: "Tue 14:00" }));
  await userEvent.click(save);
  await waitFor(() => expect(patches).toHaveLength(1));
  expect(patches[0]).toEqual({
    preferred_time_windows: [
      { days: ["MON"], start: "09:00", end: "12:00" },
      { days: ["TUE"], start: "14:00", end: "15:00" },
    ],
  });
});

test("a note is added to the timeline", async () => {
  const notes: unknown[] = [];
  server.use(...leadHandlers([], notes));
  renderAt(`/agent/leads/${ambiguous.id}`);
  expect(await screen.findByText("Automatic calls stopped (timezone needed)")).toBeInTheDocument();
  await userEvent.type(screen.getByLabelText("Add a note"), "Prefers mornings");
  await userEvent.click(screen.getByRole("button", { name: "Add" }));
  await waitFor(() => expect(notes).toEqual([{ type: "NOTE", text: "Prefers mornings" }]));
});
