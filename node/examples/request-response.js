// Example 4: request-response. The requester sends a command with reply_to; the responder, written
// with nats.js as in the seed, answers on reply_to. Then the same with Bridge.smartrequest.
const nats = require('nats')
const NATSBridge = require('natsbridge')

const NATS_URL = process.env.NATS_URL ?? 'nats://localhost:4222'

// Responder
async function testResponder(ready) {
  const conn = await nats.connect({ servers: NATS_URL })
  const subscription = conn.subscribe('/device/command', { max: 2 })
  await conn.flush()
  ready()
  for await (const msg of subscription) {
    const env = await NATSBridge.smartreceive(msg, {
      fileserver_download_handler: NATSBridge.fetchWithBackoff,
    })
    const replyTo = env.reply_to
    for (const [dataname, data, type] of env.payloads) {
      if (dataname === 'command' && data.action === 'read_sensor') {
        const response = { sensor_id: 'sensor-001', value: 42.5 }
        if (replyTo) {
          await NATSBridge.smartsend(replyTo, [['data', response, 'dictionary']], { broker_url: NATS_URL })
        }
      }
    }
  }
  await conn.close()
}

async function main() {
  let ready
  const responder = testResponder(() => ready())
  await new Promise((r) => (ready = r))
  const bridge = await NATSBridge.Bridge.connect({ servers: NATS_URL })
  const responses = await bridge.subscribe('/device/response')

  // Requester
  const [env, env_json_str] = await NATSBridge.smartsend(
    '/device/command',
    [['command', { action: 'read_sensor' }, 'dictionary']],
    { broker_url: NATS_URL, reply_to: '/device/response' },
  )
  const response = await responses.next()
  console.log(`request ${env.msg_id} answered:`, JSON.stringify(response.payloads[0][1]))

  // The same in one call: reply_to is a fresh inbox and the reply comes back decoded.
  const reply = await bridge.smartrequest('/device/command', [['command', { action: 'read_sensor' }, 'dictionary']], {
    timeout: 5000,
  })
  console.log('smartrequest answered:', JSON.stringify(reply.payloads[0][1]))
  await responder
  await bridge.close()
}

main()
