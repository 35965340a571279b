// Writes doc-examples.json: the two `wire_examples` snapshots of docs/PROTOCOL.md in the
// golden-vector format, after a hand-written v5 Welcome. The expected values are worked
// out by hand from the doc (two drones at x = 1 and 5, y = 2, angle 0, hp 3; then the
// first moved to x = 1.5, the second despawned, a third spawned at x = 9); the checksums
// are the ones the server put in the bodies. Run: node tools/make-doc-examples.mjs
import { writeFileSync } from 'node:fs';
import { encodeWelcome, toHex } from './encoder.mjs';

const drone = (index, x) => [index, 1, [[0, [x, 200, 0]], [1, [3]], [2, [1]]]];
const fixture = {
  about:
    'The wire_examples snapshots quoted in docs/PROTOCOL.md (plain bodies) after a hand-made v5 Welcome; ' +
    'made by tools/make-doc-examples.mjs. Checksums are those the bodies carry.',
  streams: [
    {
      name: 'doc-examples',
      welcome: toHex(encodeWelcome({ clientId: 3, player: [0, 1], tick: 120 })),
      frames: [
        {
          message: '9501037c07c415d4d4f134b7924066019494aad92401f6019494aac0',
          tick: 124,
          ack: 7,
          checksum: 0xa9a9e269,
          entity_count: 2,
          entities: [drone(0, 100), drone(1, 500)],
        },
        {
          message: '9501000202c411ed6cbbf6125c3402724801c300ca4a5560',
          tick: 126,
          ack: 9,
          checksum: 0xdad977ec,
          entity_count: 2,
          entities: [drone(0, 150), drone(2, 900)],
        },
        { message: '95010002 02c400'.replace(/\s/g, ''), tick: 128, ack: 11, checksum: 0xdad977ec, entity_count: 2 },
      ],
    },
  ],
};
writeFileSync(new URL('../test/fixtures/doc-examples.json', import.meta.url), `${JSON.stringify(fixture, null, 2)}\n`);
