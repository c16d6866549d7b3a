// The Node participant of the interop matrix: the installed `natsbridge` npm package (NODE_PATH
// points at the `npm pack` install). Protocol: tests/interop/README.md.
'use strict';
const fs = require('fs');
const NATSBridge = require('natsbridge');
const arrow = require('apache-arrow');

const [op, url, subject, arg] = process.argv.slice(2);
const TYPES = { int64: () => new arrow.Int64(), float64: () => new arrow.Float64(), utf8: () => new arrow.Utf8(), bool: () => new arrow.Bool() };

function toValue(kind, v) {
  if (['image', 'audio', 'video', 'binary'].includes(kind)) return Buffer.from(v.base64, 'base64');
  if (kind !== 'table') return v;
  const columns = {};
  v.columns.forEach(([name, type], i) => {
    const cells = v.rows.map((r) => (r[i] === null ? null : type === 'int64' ? BigInt(r[i]) : r[i]));
    columns[name] = arrow.vectorFromArray(cells, TYPES[type]());
  });
  return new arrow.Table(columns);
}

function typeName(t) {
  switch (t.typeId) {
    case arrow.Type.Int: return t.bitWidth === 64 && t.isSigned ? 'int64' : `int${t.bitWidth}`;
    case arrow.Type.Float: return t.precision === arrow.Precision.DOUBLE ? 'float64' : 'float';
    case arrow.Type.Utf8: case arrow.Type.LargeUtf8: return 'utf8';
    case arrow.Type.Bool: return 'bool';
    default: return String(t);
  }
}

function canonical(kind, v) {
  if (['image', 'audio', 'video', 'binary'].includes(kind)) return { base64: Buffer.from(v).toString('base64') };
  if (kind !== 'table') return v;
  const fields = v.schema.fields;
  const rows = [];
  for (let i = 0; i < v.numRows; i++) {
    rows.push(fields.map((f) => {
      const cell = v.getChild(f.name).get(i);
      return typeof cell === 'bigint' ? Number(cell) : cell;
    }));
  }
  return { columns: fields.map((f) => [f.name, typeName(f.type)]), rows };
}

function report(env) {
  const payloads = env.payloads.map((p) => ({ dataname: p[0], type: p[2], transport: p.transport, value: canonical(p[2], p[1]) }));
  console.log(JSON.stringify({ correlation_id: env.correlation_id, payloads }));
}

async function main() {
  const bridge = await NATSBridge.Bridge.connect({ servers: url });
  if (op === 'recv' || op === 'echo') {
    const sub = await bridge.subscribe(subject, { table_format: 'arrow' });
    process.stderr.write('ready\n');
    for (let i = 0; i < Number(arg); i++) {
      let env;
      try {
        env = await sub.next();
      } catch (e) {
        console.log(JSON.stringify({ error: e.code, message: e.message }));
        continue;
      }
      if (op === 'echo') await bridge.reply(env, env.payloads.map((p) => [p[0], p[1], p[2]]));
      else report(env);
    }
    await sub.unsubscribe();
  } else {
    for (const c of JSON.parse(fs.readFileSync(arg, 'utf8'))) {
      const data = c.payloads.map((p) => [p.dataname, toValue(p.type, p.value), p.type]);
      const opts = { fileserver_url: c.fileserver, size_threshold: c.threshold };
      if (c.correlation_id) opts.correlation_id = c.correlation_id;
      if (op === 'send') await bridge.smartsend(subject, data, opts);
      else report(await bridge.smartrequest(subject, data, { ...opts, timeout: 20000, table_format: 'arrow' }));
    }
  }
  await bridge.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
