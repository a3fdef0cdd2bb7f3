import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { lead, problem, server, signedIn } from "../server";
import { renderAt } from "../render";

test("the table shows the page of leads the API returns and sends the filters", async () => {
  const seen: URLSearchParams[] = [];
  server.use(
    signedIn(),
    http.get("/api/leads", ({ request }) => {
      seen.push(new URL(request.url).searchParams);
      return HttpResponse.json({
        items: [lead({ name: "Maya Cohen" }), lead({ name: "Tom Lee", timezone_candidates: ["America/New_York", "America/Los_Angeles"] })],
        total: 2,
        page: 1,
        page_size: 25,
      });
    }),
  );
  renderAt("/agent/leads?status=NEW&has_email=true");
  const table = await screen.findByRole("table", { name: "Leads" });
  expect(within(table).getByRole("link", { name: "Maya Cohen" })).toBeInTheDocument();
  expect(within(table).getByText("2 possible zones")).toBeInTheDocument();
  const last = seen[seen.length - 1];
  expect(last?.getAll("status")).toEqual(["NEW"]);
  expect(last?.get("has_email")).toBe("true");
});

test("an empty result says so", async () => {
  server.use(signedIn(), http.get("/api/leads", () => HttpResponse.json({ items: [], total: 0, page: 1, page_size: 25 })));
  renderAt("/agent/leads");
  expect(await screen.findByText("No leads match.")).toBeInTheDocument();
});

test("a card moved on the kanban goes back with the API's reason when the move is refused", async () => {
  const maya = lead({ name: "Maya Cohen", status: "NEW" });
  server.use(
    signedIn(),
    http.get("/api/leads", ({ request }) => {
      const status = new URL(request.url).searchParams.get("status");
      const items = status === "NEW" ? [maya] : [];
      return HttpResponse.json({ items, total: items.length, page: 1, page_size: 30 });
    }),
    http.patch("/api/leads/:id", () => problem(409, "This lead is closed.")),
  );
  renderAt("/agent/leads?view=kanban");
  // The drag itself runs in the browser test; here the card's keyboard-reachable "Move to" menu.
  await userEvent.click(await screen.findByRole("button", { name: "Move Maya Cohen to…" }));
  await userEvent.click(screen.getByRole("menuitem", { name: "Contacted" }));
  expect(await screen.findByText(/Maya Cohen was not moved: This lead is closed\./)).toBeInTheDocument();
  await waitFor(() =>
    expect(within(screen.getByTestId("kanban-column-NEW")).getByText("Maya Cohen")).toBeInTheDocument(),
  );
  expect(within(screen.getByTestId("kanban-column-CONTACTED")).queryByText("Maya Cohen")).toBeNull();
});

test("switching to Hebrew turns the layout right-to-left", async () => {
  server.use(signedIn(), http.get("/api/leads", () => HttpResponse.json({ items: [], total: 0, page: 1, page_size: 25 })));
  renderAt("/agent/leads");
  await userEvent.click(await screen.findByRole("button", { name: "Language" }));
  await userEvent.click(screen.getByRole("menuitem", { name: "עברית" }));
  await waitFor(() => expect(document.documentElement.dir).toBe("rtl"));
  expect(await screen.findByRole("heading", { name: "לידים" })).toBeInTheDocument();
});

test("typing in the search box asks the API for matching leads once the agent pauses", async () => {
  const searched: (string | null)[] = [];
  server.use(
    signedIn(),
    http.get("/api/leads", ({ request }) => {
      const q = new URL(request.url).searchParams.get("q");
      searched.push(q);
      const items = q === "kim" ? [lead({ name: "Kim Park" })] : [lead({ name: "Maya Cohen" }), lead({ name: "Kim Park" })];
      return HttpResponse.json({ items, total: items.length, page: 1, page_size: 25 });
    }),
  );
  renderAt("/agent/leads");
  const table = await screen.findByRole("table", { name: "Leads" });
  expect(await within(table).findByText("Maya Cohen")).toBeInTheDocument();
  await userEvent.type(screen.getByLabelText("Search name, phone, email, place"), "kim");
  await waitFor(() => expect(within(table).queryByText("Maya Cohen")).toBeNull());
  expect(within(table).getByText("Kim Park")).toBeInTheDocument();
  // One request for the whole word, not one per key.
  expect(searched.filter((q) => q !== null)).toEqual(["kim"]);
});
