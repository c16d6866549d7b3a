// JetStream: durable delivery. Publishing sets Nats-Msg-Id to msg_id (a repeat is stored once);
// a durable consumer acks each envelope once it is completely received.
const NATSBridge = require('natsbridge')

const NATS_URL = process.env.NATS_URL ?? 'nats://localhost:4222'

async function main() {
  const bridge = await NATSBridge.Bridge.connect({ servers: NATS_URL })
  await bridge.ensureStream('ORDERS', ['orders.>'])

  const [, , ack] = await bridge.jetstreamPublish('orders.new', [['order', { id: 17, qty: 2 }, 'dictionary']], {
    msg_id: 'order-17',
  })
  const [, , again] = await bridge.jetstreamPublish('orders.new', [['order', { id: 17, qty: 2 }, 'dictionary']], {
    msg_id: 'order-17',
  })
  console.log(`stored at ${ack.sequence}; the repeat is a duplicate: ${again.duplicate}`)

  const consumer = await bridge.jetstreamConsumer('ORDERS', 'order-processor', { ack_mode: 'manual' })
  const delivery = await consumer.next(5000)
  console.log('order:', JSON.stringify(delivery.envelope.payloads[0][1]), `delivery #${delivery.delivered}`)
  await delivery.ack()
  consumer.stop()
  await bridge.close()
}

main()
