import { Component, type ReactNode } from 'react';

/** A page that throws shows what went wrong instead of a blank screen; navigating away resets it. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null; path: string }> {
  override state = { error: null as Error | null, path: location.pathname };

  static getDerivedStateFromError(error: Error) {
    return { error, path: location.pathname };
  }

  override render() {
    if (this.state.error && this.state.path === location.pathname) {
      return (
        <div role="alert" className="error-box">
          <h2>This page failed</h2>
          <p>{this.state.error.message}</p>
        </div>
      );
    }
    return this.props.children;
  }
}
