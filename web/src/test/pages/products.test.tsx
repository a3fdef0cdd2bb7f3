import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { server, signedIn } from "../server";
import { renderAt } from "../render";

const product = {
  id: "7a1b2c3d-0000-4000-8000-000000000001",
  name: "Family Shield Term 20",
  insurer: "Bluestone",
  category_id: "c1",
  category_name: "Life",
  plan_type: "term",
  description: "Term life cover for young families.",
  eligibility: { min_age: 18, max_age: 55, notes: null },
  premium_range: { min: 20, max: 120, currency: "EUR", period: "MONTHLY" },
  cover_amount: "up to €500,000",
  coverage_highlights: ["Death benefit", "Terminal illness"],
  exclusions: ["Suicide in the first year"],
  riders: [],
  claim_process: ["Call the claims line"],
  tags: [],
  features: {},
  active: true,
  created_at: "2026-12-01T00:00:00Z",
  updated_at: null,
};

test("products by category, and a product's eligibility, price, cover and documents", async () => {
  const asked: (string | null)[] = [];
  server.use(
    signedIn(),
    http.get("/api/products/categories", () =>
      HttpResponse.json({
        items: [{ id: "c1", name: "Life", description: null, product_count: 1, created_at: "2026-12-01T00:00:00Z", updated_at: null }],
        total: 1,
        page: 1,
        page_size: 100,
      }),
    ),
    http.get("/api/products", ({ request }) => {
      asked.push(new URL(request.url).searchParams.get("category_id"));
      return HttpResponse.json({ items: [product], total: 1, page: 1, page_size: 100 });
    }),
    http.get(`/api/products/${product.id}/documents`, () =>
      HttpResponse.json({
        items: [{ id: "d1", filename: "family-shield-terms.pdf", download_url: "/api/products/documents/d1/download" }],
        total: 1,
        page: 1,
        page_size: 20,
      }),
    ),
  );
  renderAt("/agent/products");
  await userEvent.click(await screen.findByRole("button", { name: "Life (1)" }));
  expect(asked).toContain("c1");
  await userEvent.click(await screen.findByText("Family Shield Term 20"));
  const detail = await screen.findByRole("region", { name: "Family Shield Term 20" });
  expect(within(detail).getByText(/ages 18–55/)).toBeInTheDocument();
  expect(within(detail).getByText(/€20\.00 – €120\.00 per month/)).toBeInTheDocument();
  expect(within(detail).getByText("Suicide in the first year")).toBeInTheDocument();
  expect(await within(detail).findByRole("link", { name: "family-shield-terms.pdf" })).toHaveAttribute(
    "href",
    "/api/products/documents/d1/download",
  );
});
