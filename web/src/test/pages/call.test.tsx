import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http, ws } from "msw";
import { AGENT, lead, problem, server, signedIn } from "../server";
import { renderAt } from "../render";

const callId = "5b0c2f4e-0d4b-4b4a-9d3e-2f6d1c0e9a01";
const session = {
  id: callId,
  lead_id: lead().id,
  agent_id: AGENT.id,
  mode: "simulated",
  direction: "outbound",
  status: "ACTIVE",
  outcome: null,
  summary: null,
  email_saved: null,
  do_not_call: false,
  created_at: "2026-12-08T10:00:00Z",
  started_at: "2026-12-08T10:00:00Z",
  ended_at: null,
  end_reason: null,
  follow_up_at: null,
  estimated_cost_usd: null,
  persona_id: null,
  task_id: null,
  usage: null,
};
const line = (seq: number, speaker: string, text: string) => ({
  type: "line",
  seq,
  speaker,
  text,
  at: `2026-12-08T10:00:0${seq}Z`,
});

test("a simulated call: the transcript grows live as the agent plays the prospect, then it ends", async () => {
  const live = ws.link(`ws://localhost:3000/api/voice/sessions/${callId}/live`);
  const said: string[] = [];
  let socket: { send: (data: string) => void } | null = null;
  let ended = false;
  server.use(
    signedIn(),
    http.get(`/api/voice/sessions/${callId}`, () =>
      HttpResponse.json(ended ? { ...session, status: "ENDED", ended_at: "2026-12-08T10:01:05Z", outcome: "ANSWERED", summary: "Life cover for the family." } : session),
    ),
    http.post(`/api/voice/sessions/${callId}/messages`, async ({ request }) => {
      const { text } = (await request.json()) as { text: string };
      said.push(text);
      // As the service does: the lines reach the socket, and the turn is answered.
      socket?.send(JSON.stringify(line(2, "prospect", text)));
      socket?.send(JSON.stringify(line(3, "bot", "That makes sense. Who would the cover be for?")));
      return HttpResponse.json({ session, lines: [], reply: "That makes sense.", ended: false });
    }),
    http.post(`/api/voice/sessions/${callId}/stop`, () => {
      ended = true;
      socket?.send(JSON.stringify({ type: "ended", outcome: "ANSWERED", reason: "stopped" }));
      return HttpResponse.json({ ...session, status: "ENDED" });
    }),
    http.get(`/api/rag/calls/${callId}`, () => problem(404, "Call not found.")),
    live.addEventListener("connection", ({ client }) => {
      socket = client;
      client.send(JSON.stringify(line(1, "bot", "Hi, this is Parley calling about your insurance.")));
    }),
  );
  renderAt(`/agent/calls/${callId}`);
  const log = await screen.findByRole("log", { name: "Transcript" });
  expect(await within(log).findByText("Hi, this is Parley calling about your insurance.")).toBeInTheDocument();
  await userEvent.type(screen.getByLabelText("You are the prospect: type what they say"), "Life cover for my family");
  await userEvent.click(screen.getByRole("button", { name: "Send" }));
  expect(await within(log).findByText("Life cover for my family")).toBeInTheDocument();
  expect(await within(log).findByText("That makes sense. Who would the cover be for?")).toBeInTheDocument();
  expect(said).toEqual(["Life cover for my family"]);
  // Each line once, in order, with its speaker.
  expect(within(log).getAllByText(/^(Bot|Prospect) ·/).map((node) => node.textContent?.split(" ·")[0])).toEqual([
    "Bot",
    "Prospect",
    "Bot",
  ]);
  await userEvent.click(screen.getByRole("button", { name: "End the call" }));
  expect(await screen.findByText("Life cover for the family.")).toBeInTheDocument();
  await waitFor(() => expect(screen.queryByRole("button", { name: "Send" })).toBeNull());
});

test("a phone call the API refuses shows its reason as it is", async () => {
  const maya = lead();
  server.use(
    signedIn(),
    http.get(`/api/leads/${maya.id}`, () => HttpResponse.json(maya)),
    http.get(`/api/leads/${maya.id}/activities`, () => HttpResponse.json({ items: [], total: 0, page: 1, page_size: 100 })),
    http.get(`/api/scheduler/leads/${maya.id}`, () => problem(404, "Lead not found.")),
    http.post("/api/voice/sessions", () =>
      problem(409, "Outside legal calling hours in the lead's timezone (America/New_York).", { code: "outside_calling_hours" }),
    ),
  );
  renderAt(`/agent/leads/${maya.id}`);
  await userEvent.click(await screen.findByRole("button", { name: "Call now" }));
  expect(await screen.findByText(/Outside legal calling hours in the lead's timezone/)).toBeInTheDocument();
});

test("an ended call shows the needs it established and the products recommended, with their sources", async () => {
  const ended = { ...session, status: "ENDED", ended_at: "2026-12-08T10:02:00Z", outcome: "ANSWERED", summary: "Life cover." };
  let asks = 0;
  server.use(
    signedIn(),
    http.get(`/api/voice/sessions/${callId}`, () => HttpResponse.json(ended)),
    ws.link(`ws://localhost:3000/api/voice/sessions/${callId}/live`).addEventListener("connection", ({ client }) => {
      client.send(JSON.stringify({ type: "ended", outcome: "ANSWERED", reason: "hung up" }));
    }),
    http.get(`/api/rag/calls/${callId}`, () => {
      asks += 1;
      if (asks === 1) {
        return HttpResponse.json({ call_id: callId, lead_id: session.lead_id, status: "pending", needs: null, extractor: null, extracted_at: null, recommendation: null, recommended_at: null });
      }
      return HttpResponse.json({
        call_id: callId,
        lead_id: session.lead_id,
        status: "ready",
        extractor: "rules",
        extracted_at: "2026-12-08T10:02:05Z",
        recommended_at: "2026-12-08T10:02:06Z",
        needs: {
          coverage_type: ["life"],
          age: 29,
          dependents: [{ relation: "child", age: 6 }, { relation: "child", age: 9 }],
          budget_range: { min: null, max: 80, currency: "EUR", period: "MONTHLY" },
          urgency: "HIGH",
          health_notes: "healthy, non-smoker",
          email: "maya@example.com",
          goals: [],
          objections: [],
          existing_policy: null,
          preferred_contact_mode: null,
          risk_tolerance: null,
        },
        recommendation: {
          items: [
            {
              product_id: "p1",
              name: "Family Shield Term 20",
              insurer: "Bluestone",
              category_name: "Life",
              score: 0.9,
              rationale: "Term life cover for a parent of two, within the €80 monthly budget.",
              key_benefits: [],
              citations: [
                { product_id: "p1", chunk_id: "c1", document_id: "d1", source: "family-shield-terms.pdf", excerpt: "Pays a lump sum to your family" },
              ],
            },
          ],
          nothing_fits: false,
          nothing_fits_reason: null,
          narrative: null,
          query: "life",
          mode: "offline",
        },
      });
    }),
  );
  renderAt(`/agent/calls/${callId}`);
  const needs = await screen.findByRole("region", { name: "Needs from this call" });
  expect(await within(needs).findByText("child (6), child (9)", {}, { timeout: 8000 })).toBeInTheDocument();
  expect(within(needs).getByText("29")).toBeInTheDocument();
  expect(within(needs).getByText(/€80\.00 per month/)).toBeInTheDocument();
  const recommendations = screen.getByRole("region", { name: "Recommendations from this call" });
  const product = within(recommendations).getByRole("article", { name: "Family Shield Term 20" });
  expect(within(product).getByText(/within the €80 monthly budget/)).toBeInTheDocument();
  expect(within(product).getByRole("link", { name: "family-shield-terms.pdf" })).toHaveAttribute(
    "href",
    "/api/products/documents/d1/download",
  );
  expect(asks).toBeGreaterThanOrEqual(2);
});
