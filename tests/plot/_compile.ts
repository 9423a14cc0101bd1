/**
 * Compile a spec the way both renderers will: vega-lite 6 (ours, for the static fallbacks) and vega-lite 5 (the
 * version JupyterLab's renderer bundles for `application/vnd.vegalite.v5+json`), collecting warnings.
 */
import { compile as compile6 } from "npm:vega-lite@6.5.0";
import { compile as compile5 } from "npm:vega-lite@5.23.0";
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";

/** Compile with both major versions; returns the v6 Vega spec and every warning or error message. */
export function compileBoth(spec: TopLevelSpec): { vega: Record<string, any>; warnings: string[] } {
  const warnings: string[] = [];
  const logger = (tag: string) => {
    const l: Record<string, unknown> = {
      level: () => l,
      info: () => l,
      debug: () => l,
      warn: (...a: unknown[]) => (warnings.push(`${tag} warn: ${a.join(" ")}`), l),
      error: (...a: unknown[]) => (warnings.push(`${tag} error: ${a.join(" ")}`), l),
    };
    return l as never;
  };
  const vega = compile6(spec, { logger: logger("v6") }).spec as Record<string, any>;
  compile5({ ...spec, $schema: "https://vega.github.io/schema/vega-lite/v5.json" } as never, { logger: logger("v5") });
  return { vega, warnings };
}

/** Every unit spec (layer members, facet inner specs) of a Vega-Lite spec, depth first. */
export function units(spec: Record<string, any>): Record<string, any>[] {
  if (spec.layer) return spec.layer.flatMap(units);
  if (spec.spec) return units(spec.spec);
  return spec.mark ? [spec] : [];
}

/** The mark type of a unit spec. */
export const markType = (u: Record<string, any>): string => typeof u.mark === "string" ? u.mark : u.mark.type;
