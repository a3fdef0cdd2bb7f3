import { Box, CircularProgress } from "@mui/material";
import { Suspense, lazy } from "react";
import { Navigate, Outlet, type RouteObject, useLocation } from "react-router";
import { useSession } from "../api/auth";
import type { Me } from "../api/types";

// Each page is its own chunk: the login route ships only what login needs.
const LoginPage = lazy(() => import("../pages/LoginPage"));
// The signed-in frame is not part of the login route's download either.
const Shell = lazy(() => import("./Shell").then((module) => ({ default: module.Shell })));
const ForbiddenPage = lazy(() => import("../pages/ForbiddenPage"));
const NotFoundPage = lazy(() => import("../pages/NotFoundPage"));
const TodayPage = lazy(() => import("../pages/agent/TodayPage"));
const LeadsPage = lazy(() => import("../pages/agent/LeadsPage"));
const LeadPage = lazy(() => import("../pages/agent/LeadPage"));
const ImportPage = lazy(() => import("../pages/agent/ImportPage"));
const CallsPage = lazy(() => import("../pages/agent/CallsPage"));
const CallPage = lazy(() => import("../pages/agent/CallPage"));
const ProspectusPage = lazy(() => import("../pages/agent/ProspectusPage"));
const ProductsPage = lazy(() => import("../pages/agent/ProductsPage"));
const AdminHomePage = lazy(() => import("../pages/admin/AdminHomePage"));

function Loading() {
  return (
    <Box sx={{ display: "flex", justifyContent: "center", py: 8 }}>
      <CircularProgress aria-label="Loading" />
    </Box>
  );
}

/** Signed in with one of `roles`, else login (keeping the page asked for) or the 403 page. */
function RequireRole({ roles }: { roles: Me["role"][] }) {
  const { user, loading } = useSession();
  const location = useLocation();
  if (loading) return <Loading />;
  if (!user) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  if (!roles.includes(user.role)) return <ForbiddenPage />;
  return <Outlet />;
}

function Home() {
  const { user, loading } = useSession();
  if (loading) return <Loading />;
  if (!user) return <Navigate to="/login" replace />;
  return <Navigate to={user.role === "ADMIN" ? "/admin" : "/agent/today"} replace />;
}

const page = (element: React.ReactNode) => <Suspense fallback={<Loading />}>{element}</Suspense>;

export const routes: RouteObject[] = [
  { path: "/", element: <Home /> },
  { path: "/login", element: page(<LoginPage />) },
  {
    element: <RequireRole roles={["AGENT", "ADMIN"]} />,
    children: [
      {
        path: "/agent",
        element: page(<Shell />),
        children: [
          { index: true, element: <Navigate to="today" replace /> },
          { path: "today", element: page(<TodayPage />) },
          { path: "leads", element: page(<LeadsPage />) },
          { path: "leads/:leadId", element: page(<LeadPage />) },
          { path: "import", element: page(<ImportPage />) },
          { path: "calls", element: page(<CallsPage />) },
          { path: "calls/:callId", element: page(<CallPage />) },
          { path: "leads/:leadId/prospectus", element: page(<ProspectusPage />) },
          { path: "products", element: page(<ProductsPage />) },
        ],
      },
    ],
  },
  {
    element: <RequireRole roles={["ADMIN"]} />,
    children: [{ path: "/admin", element: page(<Shell />), children: [{ index: true, element: page(<AdminHomePage />) }] }],
  },
  { path: "*", element: page(<NotFoundPage />) },
];
