import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { RouterProvider, createMemoryRouter } from "react-router";
import { makeQueryClient } from "../app/queryClient";
import { routes } from "../app/routes";
import { ConsoleTheme } from "../app/theme";
import { SessionProvider } from "../api/auth";

/** The whole console at `path`, with the API answered by MSW. */
export function renderAt(path: string) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const client = makeQueryClient();
  client.setDefaultOptions({ queries: { ...client.getDefaultOptions().queries, retry: false } });
  const view = render(
    <QueryClientProvider client={client}>
      <ConsoleTheme>
        <SessionProvider>
          <RouterProvider router={router} />
        </SessionProvider>
      </ConsoleTheme>
    </QueryClientProvider>,
  );
  return { ...view, router, client };
}
