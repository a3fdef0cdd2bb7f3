import { QueryClientProvider } from "@tanstack/react-query";
import { useEffect } from "react";
import { RouterProvider, createBrowserRouter } from "react-router";
import { ME_KEY, SessionProvider } from "../api/auth";
import { setUnauthenticatedListener } from "../api/client";
import { makeQueryClient } from "./queryClient";
import { routes } from "./routes";
import { ConsoleTheme } from "./theme";

const queryClient = makeQueryClient();
const router = createBrowserRouter(routes);

export function App() {
  useEffect(() => {
    // The session is gone (refresh refused): forget the user; the route guard sends them to login
    // with the page they were on.
    setUnauthenticatedListener(() => queryClient.setQueryData(ME_KEY, null));
  }, []);
  return (
    <QueryClientProvider client={queryClient}>
      <ConsoleTheme>
        <SessionProvider>
          <RouterProvider router={router} />
        </SessionProvider>
      </ConsoleTheme>
    </QueryClientProvider>
  );
}
