import type { StepView } from '@trellis/contracts';

/**
 * The steps as the nodes read them. React Flow's nodes never change after the layout (only their
 * positions matter to it): a status an event moves re-renders that one node through this store,
 * instead of handing React Flow a new node array, whose store updates would reach all 500 nodes.
 */
export class StepStore {
  private steps = new Map<string, StepView>();
  private selected: string | null = null;
  private readonly listeners = new Map<string, Set<() => void>>();

  update(steps: readonly StepView[], selected: string | null): void {
    const changed = new Set<string>();
    for (const s of steps) {
      if (this.steps.get(s.id) !== s) changed.add(s.id);
      this.steps.set(s.id, s);
    }
    if (selected !== this.selected) {
      if (this.selected) changed.add(this.selected);
      if (selected) changed.add(selected);
      this.selected = selected;
    }
    for (const id of changed) for (const listener of this.listeners.get(id) ?? []) listener();
  }

  subscribe(id: string, listener: () => void): () => void {
    const set = this.listeners.get(id) ?? new Set();
    set.add(listener);
    this.listeners.set(id, set);
    return () => set.delete(listener);
  }

  step(id: string): StepView | undefined {
    return this.steps.get(id);
  }

  isSelected(id: string): boolean {
    return this.selected === id;
  }
}
