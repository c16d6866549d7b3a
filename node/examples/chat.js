// Example 1: chat with mixed content. Text and an image travel inside the envelope; the large
// document goes through the file server (claim-check) and only its URL travels.
const NATSBridge = require('natsbridge')

const NATS_URL = process.env.NATS_URL ?? 'nats://localhost:4222'
const FILESERVER_URL = process.env.FILESERVER_URL ?? 'http://localhost:8080'

async function main() {
  // The receiving side: a subscription on the room (any language could be listening).
  const bridge = await NATSBridge.Bridge.connect({ servers: NATS_URL })
  const room = await bridge.subscribe('/chat/room1')

  const imageData = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex') // the start of a PNG
  const largeFileData = Buffer.alloc(2_000_000, 0x2a) // 2 MB: above the 1 MB threshold
  const data = [
    ['message_text', 'Hello!', 'text'],
    ['user_avatar', imageData, 'image'],
    ['large_document', largeFileData, 'binary'],
  ]
  const [env, env_json_str] = await NATSBridge.smartsend('/chat/room1', data, {
    broker_url: NATS_URL,
    fileserver_url: FILESERVER_URL,
  })
  console.log(`sent ${env.msg_id} (${env_json_str.length} bytes of JSON)`)
  for (const p of env.payloads) console.log(`  ${p.dataname}: ${p.payload_type} by ${p.transport}`)

  const received = await room.next()
  for (const [dataname, value, type] of received.payloads) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : `${value.length} bytes`
    console.log(`received ${dataname} (${type}): ${shown}`)
  }
  await bridge.close()
}

main()
