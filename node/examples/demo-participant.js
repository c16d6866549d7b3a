// The Node participant of `make demo`: receives one envelope and prints it as one JSON line in the
// `natsbridge listen --json` form (text as a string, dictionaries as JSON, tables as rows, bytes
// as {"base64": ...}); says on stderr when it is subscribed.
//   node demo-participant.js SUBJECT NATS_URL
const NATSBridge = require(process.env.NATSBRIDGE_PACKAGE ?? 'natsbridge')

async function main() {
  const [subject, url = 'nats://localhost:4222'] = process.argv.slice(2)
  const bridge = await NATSBridge.Bridge.connect({ servers: url, name: 'demo-node' })
  const sub = await bridge.subscribe(subject)
  console.error(`listening on ${subject}`)
  const env = await sub.next()
  const { payloads, ...header } = env
  const out = {
    ...header,
    payloads: payloads.map((p) => {
      const [dataname, value, type] = p
      const json = Buffer.isBuffer(value) ? { base64: value.toString('base64') } : value
      return { dataname, payload_type: type, transport: p.transport, size: p.size, value: json }
    }),
  }
  console.log(JSON.stringify(out))
  await bridge.close()
}

main().catch((e) => {
  console.error(`error: ${e.message}`)
  process.exit(1)
})
