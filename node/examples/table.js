// Example 3: table data (Arrow IPC). Rows go in as an array of objects, as in the seed, and come
// out as rows by default, or as an apache-arrow Table with table_format: 'arrow'.
const arrow = require('apache-arrow')
const NATSBridge = require('natsbridge')

const NATS_URL = process.env.NATS_URL ?? 'nats://localhost:4222'

async function main() {
  const bridge = await NATSBridge.Bridge.connect({ servers: NATS_URL })
  const asRows = await bridge.subscribe('/data/analysis')
  const asArrow = await bridge.subscribe('/data/analysis', { table_format: 'arrow' })

  const df = [
    { id: 1, name: 'Alice', score: 95 },
    { id: 2, name: 'Bob', score: 88 },
    { id: 3, name: 'Charlie', score: 92 },
  ]
  const [env] = await NATSBridge.smartsend('/data/analysis', [['students', df, 'table']], { broker_url: NATS_URL })
  console.log(`sent ${env.payloads[0].size} bytes of Arrow IPC`)

  const rows = (await asRows.next()).payloads[0][1]
  console.log('rows:', JSON.stringify(rows))
  const table = (await asArrow.next()).payloads[0][1]
  console.log('arrow:', table.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', '), `(${table.numRows} rows)`)

  // An apache-arrow Table can be sent as it is.
  const scores = arrow.tableFromArrays({ score: Float64Array.from([95.5, 88, 92.25]) })
  await bridge.smartsend('/data/analysis', [['scores', scores, 'table']])
  console.log('scores back:', JSON.stringify((await asRows.next()).payloads[0][1]))
  await bridge.close()
}

main()
