/**
 * Compile a spec as the static renderer does (vega-lite 6), collecting warnings instead of printing them.
 * JupyterLab renders the same spec with its bundled vega-lite 5 (display.ts rewrites `$schema`); the builders
 * use only features both versions have.
 */
import { compile } from "npm:vega-lite@6.5.0";
import type { TopLevelSpec } from "npm:vega-lite@6.5.0";

/** Compile; returns the Vega spec and every warning or error message. */
export function compileSpec(spec: TopLevelSpec): { vega: Record<string, any>; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Record<string, unknown> = {
    level: () => logger,
    info: () => logger,
    debug: () => logger,
    warn: (...a: unknown[]) => (warnings.push(`warn: ${a.join(" ")}`), logger),
    error: (...a: unknown[]) => (warnings.push(`error: ${a.join(" ")}`), logger),
  };
  const vega = compile(spec, { logger: logger as never }).spec as Record<string, any>;
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
