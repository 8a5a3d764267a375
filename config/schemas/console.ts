/**
 * Schema of console.yaml, the cairn console's configuration: its own name
 * and the Director it talks to.
 */
import type { JsonSchema } from '../schema-validator.js';
import { mapping, name, nonEmptyString, port, prop, ref, rootSchema, sharedDefs, tlsProp } from './common.js';

const { secret, tls } = sharedDefs;

export const consoleSchema: JsonSchema = rootSchema('cairn-console', 'Cairn console configuration (console.yaml)', 'The cairn console: which Director to talk to and how to log in.', mapping({
  console: prop('Console', 'The console itself.', mapping({ name: name('console (the Director\'s consoles[].name)') }, ['name'])),
  director: prop('Director', 'The Director to connect to.', mapping({
    name: prop('Director name', 'The Director\'s director.name; checked when connecting.', nonEmptyString),
    address: prop('Address', 'Host name or address of the Director.', nonEmptyString),
    port: prop('Port', 'The Director\'s director.listen.port.', port),
    password: prop('Password', 'The console\'s password (the Director\'s consoles[].password).', ref('secret')),
    tls: tlsProp('the connection to the Director'),
  }, ['name', 'address', 'port', 'password'])),
}, ['console', 'director']), { secret, tls });
