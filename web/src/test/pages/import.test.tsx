// @vitest-environment happy-dom
// (jsdom's FormData and File cannot go through Node's fetch as a multipart upload; happy-dom's can.)
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { problem, server, signedIn } from "../server";
import { renderAt } from "../render";

const report = {
  dry_run: true,
  imported: 0,
  total_rows: 3,
  duplicates: [],
  errors: [{ line: 3, column: "phone", message: "'12' is not a valid phone number" }],
  header_mapping: { name: "name", phone: "phone" },
  mode: "strict",
  rows: [
    { line: 2, name: "Ada", phone: "+12125550101", email: null, timezone: "America/New_York", timezone_source: "from_phone", timezone_candidates: ["America/New_York"] },
    { line: 4, name: "Bea", phone: "+61412345678", email: null, timezone: "Australia/Sydney", timezone_source: "from_phone", timezone_candidates: ["Australia/Sydney", "Australia/Perth"] },
  ],
};

test("checking a file shows each row's timezone and the broken row's error before anything is written", async () => {
  const forms: FormData[] = [];
  server.use(
    signedIn(),
    http.post("/api/leads/import", async ({ request }) => {
      const form = await request.formData();
      forms.push(form);
      if (form.get("dry_run") === "true") return HttpResponse.json(report);
      return problem(422, "1 row(s) are invalid; nothing was imported.", { report: { ...report, dry_run: false } });
    }),
  );
  renderAt("/agent/import");
  const file = new File(["name,phone\nAda,+12125550101\nBroken,12\nBea,+61412345678\n"], "leads.csv", { type: "text/csv" });
  await userEvent.upload(await screen.findByLabelText("Choose a CSV file"), file);
  expect(await screen.findByLabelText("name")).toBeInTheDocument(); // the mapping shows every column
  await userEvent.click(screen.getByRole("button", { name: "Check the file" }));
  const problems = await screen.findByRole("table", { name: "Rows with problems" });
  expect(within(problems).getByText("'12' is not a valid phone number")).toBeInTheDocument();
  const rows = screen.getByRole("table", { name: "Rows as they will be saved" });
  expect(within(rows).getByText("America/New_York")).toBeInTheDocument();
  expect(within(rows).getByText("2 possible zones")).toBeInTheDocument();
  expect(screen.getByRole("status")).toHaveTextContent("Nothing written yet");
  expect(forms[0]?.get("mode")).toBe("strict");

  await userEvent.click(screen.getByRole("button", { name: "Import" }));
  expect(await screen.findByText("0 leads imported of 3 rows.")).toBeInTheDocument();
  expect(forms[1]?.get("dry_run")).toBe("false");
});
