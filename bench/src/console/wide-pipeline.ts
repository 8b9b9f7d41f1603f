/**
 * The console bench's pipeline: `steps` steps in one run, the shape a large console page meets:
 * a root, a wide fan-out (most of the steps), chains of four beside it, and a join on every leaf.
 * 500 steps = root + 402 fan-out + 24 chains × 4 + join.
 */
export function widePipeline(name: string, steps: number): { spec: object; stepIds: string[] } {
  const chains = Math.max(1, Math.floor(steps / 20));
  const chainLength = 4;
  const fan = steps - 2 - chains * chainLength;
  if (fan < 1) throw new Error(`a wide pipeline needs at least ${3 + chains * chainLength} steps`);
  const spec: Record<string, { prompt: string; depends_on?: string[] }> = { root: { prompt: 'root: plan the work' } };
  const leaves: string[] = [];
  for (let i = 1; i <= fan; i++) {
    const id = `fan_${String(i).padStart(3, '0')}`;
    spec[id] = { prompt: `${id}: one part`, depends_on: ['root'] };
    leaves.push(id);
  }
  for (let c = 1; c <= chains; c++) {
    for (let k = 1; k <= chainLength; k++) {
      const id = `chain_${String(c).padStart(2, '0')}_${k}`;
      spec[id] = { prompt: `${id}: one link`, depends_on: [k === 1 ? 'root' : `chain_${String(c).padStart(2, '0')}_${k - 1}`] };
      if (k === chainLength) leaves.push(id);
    }
  }
  spec.join = { prompt: 'join: put the parts together', depends_on: leaves };
  return { spec: { version: 1, name, steps: spec }, stepIds: Object.keys(spec) };
}
