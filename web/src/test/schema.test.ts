import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The typed client is generated from web/openapi.json (itself checked against the backend by a
 * Python test): a schema.d.ts that no longer matches it fails here. Fix: `npm run gen:api`. */
test("the generated API types match the committed OpenAPI document", async () => {
  const document = JSON.parse(readFileSync(here("../../openapi.json"), "utf8"));
  const generated = astToString(await openapiTS(document));
  const committed = readFileSync(here("../api/schema.d.ts"), "utf8");
  const normalise = (text: string) => text.replace(/^\/\*\*[\s\S]*?\*\/\s*/, "").trim();
  expect(normalise(committed)).toBe(normalise(generated));
}, 30000);
