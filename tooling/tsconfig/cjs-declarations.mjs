#!/usr/bin/env node
// After `tsup` (format esm + cjs, dts): the CommonJS declarations (dist/*.d.cts) import ES-only
// packages (typebox is `"type": "module"` with no `require` types) as a CommonJS file would
// require them. Node ≥ 20.19 can require() them at run time, but a TypeScript consumer whose
// project is CommonJS with `module: node16` (no require(esm) there) and `skipLibCheck: false` gets
// TS1479 "…the referenced file is an ECMAScript module and cannot be imported with 'require'" in
// our .d.cts. Each such import becomes a type-only import resolved as ESM
// (`with { 'resolution-mode': 'import' }`, TypeScript ≥ 5.3), which every module setting accepts.
//
// Usage (a package's build script, from the package directory): tsup && node ./node_modules/@prospectflow/tsconfig/cjs-declarations.mjs
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const packageDir = process.cwd();
const ts = createRequire(path.join(packageDir, 'package.json'))('typescript');
const options = { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 };

/** True when `specifier`, required from `file`, is an ES module (or only importable). */
function esOnly(specifier, file) {
  const resolve = (mode) =>
    ts.resolveModuleName(specifier, file, options, ts.sys, undefined, undefined, mode).resolvedModule;
  const required = resolve(ts.ModuleKind.CommonJS);
  if (!required) return resolve(ts.ModuleKind.ESNext) !== undefined;
  if (required.extension === ts.Extension.Dmts || required.extension === ts.Extension.Mts) return true;
  if (required.extension === ts.Extension.Dcts || required.extension === ts.Extension.Cts) return false;
  return (
    ts.getImpliedNodeFormatForFile(required.resolvedFileName, undefined, ts.sys, options) ===
    ts.ModuleKind.ESNext
  );
}

// One statement per line in tsup's declarations: `import … from '…';` / `export … from '…';`.
const statement = /^(import|export)(?: type)? (.+) from '([^'.][^']*)';$/gm;
const dist = path.join(packageDir, 'dist');
let changed = 0;
for (const name of fs.readdirSync(dist).filter((entry) => entry.endsWith('.d.cts'))) {
  const file = path.join(dist, name);
  const text = fs.readFileSync(file, 'utf8');
  const rewritten = text.replace(statement, (line, keyword, clause, specifier) => {
    if (specifier.startsWith('node:') || !esOnly(specifier, file)) return line;
    // `import type` takes a default import or named bindings, not both.
    if (keyword === 'import' && /^[\w$]+\s*,/.test(clause)) {
      throw new Error(`${name}: cannot make "${line}" type-only (default import and bindings together)`);
    }
    changed += 1;
    return `${keyword} type ${clause} from '${specifier}' with { 'resolution-mode': 'import' };`;
  });
  if (rewritten !== text) fs.writeFileSync(file, rewritten);
}
if (changed > 0)
  console.log(`cjs-declarations: ${changed} ES-only import(s) in dist/*.d.cts resolved as ESM`);
