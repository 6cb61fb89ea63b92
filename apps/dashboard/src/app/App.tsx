import { Suspense, useEffect, type ReactNode } from 'react';
import { Route, Routes } from 'react-router';
import { appRoutes, routeMinRole } from './routes';
import { RequireAuth, useAuth } from './auth';
import { AppLayout } from './layout/AppLayout';
import LoginPage from './pages/LoginPage';
import { NoAccessPage, NotFoundPage } from './pages/StatusPages';
import { PageSkeleton } from '../components/Skeletons';
import type { Role } from '@agent-monitor/contracts';

function RoleGate({ min, children }: { min: Role; children: ReactNode }) {
  const { can } = useAuth();
  return can(min) ? <>{children}</> : <NoAccessPage required={min} />;
}

/** The browser tab names the page ("Users · Agent Monitor"). */
function DocumentTitle({ title }: { title?: string }) {
  useEffect(() => {
    document.title = title ? `${title} · Agent Monitor` : 'Agent Monitor';
  }, [title]);
  return null;
}

/** Login outside the shell; every registered page inside it, behind auth and its role gate. */
export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        {appRoutes.map((r) => (
          <Route
            key={r.path}
            path={r.path}
            element={
              <RoleGate min={routeMinRole(r)}>
                <DocumentTitle title={r.nav?.label} />
                <Suspense fallback={<PageSkeleton />}>{r.element}</Suspense>
              </RoleGate>
            }
          />
        ))}
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
