import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { lead, problem, server, signedIn } from "../server";
import { renderAt } from "../render";

const maya = lead({ email: "maya@example.com", consent_flags: { dnd: false, email_opt_out: true, call_recording: false } });
const version = (n: number, status: string) => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  lead_id: maya.id,
  version: n,
  status,
  automatic: true,
  call_id: null,
  attempts: 1,
  error: status === "FAILED" ? "catalog product(s) not known here" : null,
  page_count: 3,
  pdf_bytes: 52000,
  pdf_sha256: null,
  product_ids: [],
  requested_by: null,
  created_at: `2026-12-0${n}T10:00:00Z`,
  ready_at: null,
  links: { self: `/api/prospectus/${maya.id}/${n}`, html: `/api/prospectus/${maya.id}/${n}/html`, pdf: `/api/prospectus/${maya.id}/${n}/pdf` },
});

test("versions, the preview and the PDF of a prospectus; sending it names the recipient, a refusal says why", async () => {
  const sent: unknown[] = [];
  server.use(
    signedIn(),
    http.get(`/api/leads/${maya.id}`, () => HttpResponse.json(maya)),
    http.get(`/api/prospectus/${maya.id}`, () =>
      HttpResponse.json({ items: [version(2, "READY"), version(1, "FAILED")], total: 2, page: 1, page_size: 50 }),
    ),
    http.post("/api/email/send", async ({ request }) => {
      sent.push(await request.json());
      return problem(409, "The lead opted out of email; nothing was sent.");
    }),
  );
  renderAt(`/agent/leads/${maya.id}/prospectus`);
  const versions = await screen.findByRole("list", { name: "Versions" });
  expect(within(versions).getByText("Ready")).toBeInTheDocument();
  expect(within(versions).getByText("Failed")).toBeInTheDocument();
  expect(screen.getByTitle("Prospectus preview")).toHaveAttribute("src", `/api/prospectus/${maya.id}/2/html`);
  expect(screen.getByRole("link", { name: "Download PDF" })).toHaveAttribute("href", `/api/prospectus/${maya.id}/2/pdf`);
  await userEvent.click(screen.getByRole("button", { name: "Send by email" }));
  const dialog = await screen.findByRole("dialog", { name: "Send the prospectus?" });
  expect(within(dialog).getByText("Version 2 goes to maya@example.com.")).toBeInTheDocument();
  await userEvent.click(within(dialog).getByRole("button", { name: "Send" }));
  expect(await screen.findByText("The lead opted out of email; nothing was sent.")).toBeInTheDocument();
  expect(sent).toEqual([{ lead_id: maya.id, prospectus_id: version(2, "READY").id }]);
  // The failed version says why.
  await userEvent.click(within(versions).getByText("Version 1"));
  expect(await screen.findByText("catalog product(s) not known here")).toBeInTheDocument();
});
