import { lazy, Suspense } from 'react';
import { Navigate, NavLink, Route, Routes } from 'react-router';
import { SignInPage } from './auth/sign-in.page';
import { useSession } from './auth/session';
import { RunsPage } from './runs/runs.page';
import { ErrorBoundary } from './ui/error-boundary';

// The run page (the graph, Markdown) loads when first visited.
const RunPage = lazy(() => import('./runs/run.page'));

const NAV = [
  ['/runs', 'Runs'],
] as const;

export function App() {
  const { api, signOut } = useSession();
  if (!api) return <SignInPage />;
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Trellis</span>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <NavLink key={to} to={to}>
              {label}
            </NavLink>
          ))}
        </nav>
        <button type="button" className="link" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <Routes>
              <Route path="/" element={<Navigate to="/runs" replace />} />
              <Route path="/runs" element={<RunsPage />} />
              <Route path="/runs/:id" element={<RunPage />} />
              <Route path="*" element={<p>There is no page here. <NavLink to="/runs">See the runs.</NavLink></p>} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
