import type { TemplateVersionView } from '@trellis/contracts';

/** A choice among a template's versions (newest first), optionally with `latest`. */
export function VersionSelect({ id, value, onChange, versions, latest = false }: { id: string; value: string; onChange(value: string): void; versions: TemplateVersionView[]; latest?: boolean }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
      {latest && <option value="latest">latest</option>}
      {versions.map((v) => (
        <option key={v.version} value={v.version}>
          v{v.version}
        </option>
      ))}
    </select>
  );
}
