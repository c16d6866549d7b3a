// Example 2: dictionary exchange. Any JSON value travels as a dictionary; a receiver written
// with nats.js decodes it with smartreceive.
const nats = require('nats')
const NATSBridge = require('natsbridge')

const NATS_URL = process.env.NATS_URL ?? 'nats://localhost:4222'

async function main() {
  const nc = await nats.connect({ servers: NATS_URL })
  const sub = nc.subscribe('/device/config', { max: 1 })
  await nc.flush()

  const config = {
    wifi_ssid: 'MyNetwork',
    wifi_password: 'password123',
    update_interval: 60,
  }
  const [env, env_json_str] = await NATSBridge.smartsend('/device/config', [['config', config, 'dictionary']], {
    broker_url: NATS_URL,
  })
  console.log(`sent ${env.msg_id}: ${JSON.parse(env_json_str).payloads[0].size} bytes of JSON`)

  for await (const msg of sub) {
    const received = await NATSBridge.smartreceive(msg)
    const [dataname, value] = received.payloads[0]
    console.log(`received ${dataname}: ssid=${value.wifi_ssid} interval=${value.update_interval}`)
  }
  await nc.close()
}

main()
