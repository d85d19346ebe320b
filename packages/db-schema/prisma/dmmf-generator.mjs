#!/usr/bin/env node
// A minimal Prisma generator (JSON-RPC over stdin/stderr, like @prisma/generator-helper) that
// writes the parsed datamodel (DMMF) as JSON. The drift test uses it to read schema.prisma with
// Prisma's own parser, offline.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const reply = (id, result) => process.stderr.write(`${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.method === 'getManifest') {
    reply(message.id, {
      manifest: { prettyName: 'DMMF snapshot', defaultOutput: './dmmf.json', requiresGenerators: [] },
    });
  } else if (message.method === 'generate') {
    const output = message.params.generator.output.value;
    const file = output.endsWith('.json') ? output : path.join(output, 'dmmf.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(message.params.dmmf.datamodel, null, 2));
    reply(message.id, null);
  }
});
