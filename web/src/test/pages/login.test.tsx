import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { AGENT, problem, server, signedIn, signedOut } from "../server";
import { renderAt } from "../render";

test("a wrong password shows the API's message and the request id, and stays on login", async () => {
  server.use(signedOut(), http.post("/api/auth/login", () => problem(401, "Wrong email or password.")));
  renderAt("/login");
  await userEvent.type(await screen.findByLabelText("Email"), "agent@example.com");
  await userEvent.type(screen.getByLabelText("Password"), "nope");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("Wrong email or password.");
  expect(screen.getByRole("alert")).toHaveTextContent("Request id: req-123");
});

test("the form refuses an invalid email before calling the API", async () => {
  let called = false;
  server.use(
    signedOut(),
    http.post("/api/auth/login", () => {
      called = true;
      return HttpResponse.json({});
    }),
  );
  renderAt("/login");
  await userEvent.type(await screen.findByLabelText("Email"), "not-an-email");
  await userEvent.type(screen.getByLabelText("Password"), "x");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByText("Enter a valid email address")).toBeInTheDocument();
  expect(called).toBe(false);
});

test("a page asked for while signed out is reached after login", async () => {
  let signedInNow = false;
  server.use(
    http.get("/api/auth/me", () => (signedInNow ? HttpResponse.json(AGENT) : problem(401, "Not authenticated."))),
    http.post("/api/auth/login", () => {
      signedInNow = true;
      return HttpResponse.json({ access_token: "x", token_type: "bearer", expires_in: 900, user: AGENT });
    }),
    http.get("/api/leads/pipeline", () => HttpResponse.json({ counts: [], total: 0 })),
    http.get("/api/scheduler/queue", () =>
      HttpResponse.json({ items: [], total: 0, page: 1, page_size: 100, day: "2026-12-08", timezone: "UTC" }),
    ),
  );
  const { router } = renderAt("/agent/today");
  await waitFor(() => expect(router.state.location.pathname).toBe("/login"));
  expect(router.state.location.search).toBe("?next=%2Fagent%2Ftoday");
  await userEvent.type(await screen.findByLabelText("Email"), "agent@example.com");
  await userEvent.type(screen.getByLabelText("Password"), "agent-demo");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
  await waitFor(() => expect(router.state.location.pathname).toBe("/agent/today"));
  expect(await screen.findByRole("heading", { name: "Today" })).toBeInTheDocument();
});

test("an agent opening an admin page gets the 403 page", async () => {
  server.use(signedIn());
  renderAt("/admin");
  expect(await screen.findByRole("heading", { name: "You don't have access to this page" })).toBeInTheDocument();
  expect(screen.getByText("403")).toBeInTheDocument();
});
