import { lazy, Suspense } from 'react';
import { Navigate, NavLink, Route, Routes } from 'react-router';
import { SignInPage } from './auth/sign-in.page';
import { useSession } from './auth/session';
import { RunsPage } from './runs/runs.page';
import { ErrorBoundary } from './ui/error-boundary';

// Pages load when first visited: the run page's graph and Markdown, the spec's YAML and the diff stay out of the first load.
const RunPage = lazy(() => import('./runs/run.page'));
const DiffPage = lazy(() => import('./runs/diff.page'));
const PipelinesPage = lazy(() => import('./pipelines/pipelines.page'));
const PipelinePage = lazy(() => import('./pipelines/pipeline.page'));
const ValidatePage = lazy(() => import('./pipelines/validate.page'));
const TemplatesPage = lazy(() => import('./templates/templates.page'));
const TemplatePage = lazy(() => import('./templates/template.page'));
const ExperimentsPage = lazy(() => import('./experiments/experiments.page'));
const ExperimentPage = lazy(() => import('./experiments/experiment.page'));

const NAV = [
  ['/runs', 'Runs'],
  ['/pipelines', 'Pipelines'],
  ['/validate', 'Validate'],
  ['/templates', 'Templates'],
  ['/experiments', 'Experiments'],
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
              <Route path="/runs/:a/diff/:b" element={<DiffPage />} />
              <Route path="/pipelines" element={<PipelinesPage />} />
              <Route path="/pipelines/:name" element={<PipelinePage />} />
              <Route path="/validate" element={<ValidatePage />} />
              <Route path="/templates" element={<TemplatesPage />} />
              <Route path="/templates/:name" element={<TemplatePage />} />
              <Route path="/experiments" element={<ExperimentsPage />} />
              <Route path="/experiments/:id" element={<ExperimentPage />} />
              <Route path="*" element={<p>There is no page here. <NavLink to="/runs">See the runs.</NavLink></p>} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
