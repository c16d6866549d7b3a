// Must NOT compile: the shipped types catch these mistakes (tests/typescript.test.js).
import { smartsend, Bridge } from 'natsbridge'

async function wrong(): Promise<void> {
  await smartsend('s', [['a', 42, 'text']]) // a text payload is a string
  await smartsend('s', [['a', 'x', 'spreadsheet']]) // an unknown type
  await smartsend('s', [['a', 'x', 'text']], { size_threshold: 'big' }) // a number option
  const b = await Bridge.connect({ servers: 5 }) // a URL or URLs
  await b.smartrequest('s', [], { timeout: '1s' })
}
void wrong
